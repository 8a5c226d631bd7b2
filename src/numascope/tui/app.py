"""`numascope top`: the Textual app. It only ever sees frames from a Feed.

The app owns view state (sort, filter, grouping, pause, the visible tab) and
redraws from the newest frame; all kernel and procfs work happens in the feed's
thread, so the screen stays responsive whatever the source does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from numascope.config import Thresholds
from numascope.tui.allocator import allocator_panel
from numascope.tui.detail import DetailScreen, PolicyReader
from numascope.tui.feed import Feed
from numascope.tui.frame import Frame
from numascope.tui.header import HeaderBar, Status, header_text
from numascope.tui.help import HelpScreen
from numascope.tui.history import History
from numascope.tui.messages import FeedFailed, FrameReady
from numascope.tui.panels import irq_panel, matrix_panel, nodes_panel, reclaim_panel
from numascope.tui.residence import memory_panel
from numascope.tui.rows import (
    Column,
    Grouping,
    Row,
    build_rows,
    columns_for,
    in_pods,
    matches_filter,
    sort_rows,
)
from numascope.tui.terminal import (
    CHECK_SECONDS,
    HANGUP_STATUS,
    TerminalWatch,
    stdin_fd,
    terminal_alive,
)
from numascope.tui.workloads import WorkloadTable

DEFAULT_SORT = "remote"
# Sorting and filtering see every row; the table lists the top ones (the status line
# says how many of how many).
MAX_ROWS = 200
TABS = {
    "workloads": "Workloads",
    "matrix": "Matrix",
    "irqs": "IRQs",
    "reclaim": "Reclaim",
    "allocator": "Allocator",
    "memory": "Memory",
}


def show_in_place(widget: Static, content: RenderableType) -> None:
    """`widget.update(content)`, laying the screen out again only when its height changes.

    A layout pass makes Textual paint the screen a second time, a screen tick after
    the first (about 20 ms at 5,000 workloads), and most frames change numbers, not
    heights. A widget in a hidden tab is laid out when its tab is shown."""
    height = widget.size.height
    widget.update(content, layout=False)
    if not all(node.display for node in widget.ancestors_with_self):
        return
    width = widget.size.width
    if (
        not width
        or widget.get_content_height(widget.container_size, widget.screen.size, width) != height
    ):
        widget.refresh(layout=True)


class TopApp(App[int]):
    TITLE = "numascope top"
    CSS = """
    #notes { height: auto; max-height: 3; color: $warning; padding: 0 1; display: none; }
    #nodes { height: auto; padding: 0 1; }
    #status { height: 1; padding: 0 1; background: $boost; }
    #filter { dock: bottom; display: none; margin-bottom: 1; }
    TabbedContent { height: 1fr; }
    TabPane { padding: 0; }
    .panel { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # Textual 8 answers Ctrl+C with "press ctrl+q to quit"; in a terminal tool Ctrl+C
        # means stop, so it quits, from any screen and even while the filter has focus.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("p", "toggle_pause", "Pause"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("g", "group", "Group"),
        Binding("enter", "detail", "Detail", key_display="⏎"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("w", "tab('workloads')", "Workloads", show=False),
        Binding("m", "tab('matrix')", "Matrix", show=False),
        Binding("i", "tab('irqs')", "IRQs", show=False),
        Binding("r", "tab('reclaim')", "Reclaim", show=False),
        Binding("a", "tab('allocator')", "Alloc"),
        Binding("e", "tab('memory')", "Memory", show=False),
    ]

    def __init__(
        self,
        feed: Feed,
        *,
        interval: float,
        mode: str = "live",
        policy: str = "built-in default",
        thresholds: Thresholds | None = None,
        policy_reader: PolicyReader | None = None,
        notes: tuple[str, ...] = (),
        max_rows: int = MAX_ROWS,
        on_reload: Callable[[], object] | None = None,
    ) -> None:
        """`on_reload` asks for a policy reload: SIGHUP calls it while the terminal is there."""
        super().__init__()
        self.feed = feed
        self.status = Status(interval=interval, mode=mode, policy=policy)
        self.thresholds = thresholds or Thresholds()
        self.policy_reader = policy_reader
        self.history = History()
        self.frame: Frame | None = None
        self.frames_seen = 0
        self.grouping = Grouping.PROCESS
        self.sort = DEFAULT_SORT
        self.reverse = False
        self.filter_text = ""
        self.notes: tuple[str, ...] = notes
        self.rows: list[Row] = []
        self.max_rows = max_rows
        self.on_reload = on_reload
        self.terminal: TerminalWatch | None = None

    # ---- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield HeaderBar(header_text(None, self.status), id="header")
        yield Static(id="notes", markup=False)
        yield Static(id="nodes")
        with TabbedContent(id="tabs"):
            with TabPane(f"{TABS['workloads']} (w)", id="workloads"):
                yield WorkloadTable(id="table")
            with TabPane(f"{TABS['matrix']} (m)", id="matrix"), VerticalScroll():
                yield Static(id="matrix-view", classes="panel")
            with TabPane(f"{TABS['irqs']} (i)", id="irqs"), VerticalScroll():
                yield Static(id="irq-view", classes="panel")
            with TabPane(f"{TABS['reclaim']} (r)", id="reclaim"), VerticalScroll():
                yield Static(id="reclaim-view", classes="panel")
            with TabPane(f"{TABS['allocator']} (a)", id="allocator"), VerticalScroll():
                yield Static(id="allocator-view", classes="panel")
            with TabPane(f"{TABS['memory']} (e)", id="memory"), VerticalScroll():
                yield Static(id="memory-view", classes="panel")
        yield Static(id="status")
        yield Input(
            placeholder="filter: name, pid, cgroup, rule, finding (Enter keeps, Esc clears)",
            id="filter",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(WorkloadTable).focus()
        self._draw_status()
        self.feed.start(self.post_message)
        self._watch_terminal()

    def on_unmount(self) -> None:
        if self.terminal is not None:
            self.terminal.remove()
        self.feed.stop()  # a live source detaches its probes here

    def _watch_terminal(self) -> None:
        fd = stdin_fd()
        if self.is_headless or fd is None or not terminal_alive(fd):
            return  # no terminal to lose (tests, the benchmark)
        self.terminal = TerminalWatch(fd, on_hangup=self._hang_up, on_reload=self._reload)
        self.terminal.install(asyncio.get_running_loop())
        self.set_interval(CHECK_SECONDS, self.terminal.check)

    def _hang_up(self) -> None:
        self.exit(HANGUP_STATUS)

    def _reload(self) -> None:
        if self.on_reload is not None:
            self.on_reload()
            self.feed.refresh()  # a finished replay sleeps until asked: judge it again now

    # Keys that act on the workloads table do nothing (and leave the footer) elsewhere.
    _MAIN_ONLY = frozenset({"sort", "reverse", "filter", "group", "detail", "tab"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self._MAIN_ONLY and self.screen is not self.screen_stack[0])

    # ---- frames from the feed -----------------------------------------------------
    @on(FrameReady)
    def _frame_ready(self, message: FrameReady) -> None:
        if self.status.paused or not self._main_ready():
            return  # a poll that was under way when the user paused, or the app is closing
        frame = message.frame
        fresh = self.history.record(frame.snapshot)
        finished = self.feed.finished
        if not fresh and finished == self.status.finished and frame == self.frame:
            return  # the same frame again (a finished replay): nothing to redraw
        self.frame = frame
        self.frames_seen += 1
        self.status = self._status(error="")
        if frame.notes:
            self.notes = (*self.notes, *frame.notes)[-3:]
        self.redraw()

    @on(FeedFailed)
    def _feed_failed(self, message: FeedFailed) -> None:
        if not self._main_ready():
            return
        self.status = self._status(error=f"poll failed: {message.error}")
        self._draw_header()

    def _main_ready(self) -> bool:
        # Frames can still arrive while the app shuts down and its widgets go away.
        return bool(self.screen_stack) and bool(self.screen_stack[0].query(HeaderBar))

    def _status(self, **changes: object) -> Status:
        values = {**self.status.__dict__, "finished": self.feed.finished, **changes}
        return Status(**values)

    # ---- drawing ------------------------------------------------------------------
    def redraw(self) -> None:
        self._draw_header()
        frame = self.frame
        if frame is None:
            return
        snapshot = frame.snapshot
        notes = [*snapshot.health.notes, *self.notes]
        notes += [
            f"probe {name} missing: {why}" for name, why in snapshot.health.probes_missing.items()
        ]
        notes_widget = self.query_one("#notes", Static)
        show_in_place(notes_widget, "\n".join(f"⚠ {n}" for n in notes))
        notes_widget.display = bool(notes)
        spark = max(8, self.size.width - 64)
        show_in_place(self.query_one("#nodes", Static), nodes_panel(snapshot, self.history, spark))
        self._draw_table()
        show_in_place(self.query_one("#matrix-view", Static), matrix_panel(snapshot))
        show_in_place(self.query_one("#irq-view", Static), irq_panel(snapshot, self.thresholds))
        show_in_place(self.query_one("#reclaim-view", Static), reclaim_panel(snapshot))
        show_in_place(self.query_one("#allocator-view", Static), allocator_panel(snapshot))
        show_in_place(self.query_one("#memory-view", Static), memory_panel(snapshot))
        if isinstance(self.screen, DetailScreen) and self.screen.ready:
            row = next((r for r in self.rows if r.key == self.screen.row.key), None)
            if row is not None:
                self.screen.update(row, snapshot)

    def _draw_header(self) -> None:
        snapshot = self.frame.snapshot if self.frame else None
        show_in_place(self.query_one(HeaderBar), header_text(snapshot, self.status))

    def _columns(self) -> list[Column]:
        if self.frame is None:
            return columns_for(())
        snapshot = self.frame.snapshot
        return columns_for(snapshot.node_ids, pods=in_pods(snapshot))

    def _draw_table(self) -> None:
        if self.frame is None:
            return
        columns = self._columns()
        column = next((c for c in columns if c.name == self.sort), columns[0])
        rows = build_rows(self.frame.snapshot, self.grouping, self.frame.placements)
        total = len(rows)
        rows = [r for r in rows if matches_filter(r, self.filter_text)]
        self.rows = sort_rows(rows, column, self.reverse)
        self.query_one(WorkloadTable).show(
            columns, self.rows[: self.max_rows], self.sort, self.reverse
        )
        self._draw_status(total)

    def _draw_status(self, total: int | None = None) -> None:
        columns = self._columns()
        column = next((c for c in columns if c.name == self.sort), None)
        label = column.label if column else self.sort
        order = "▲" if column is not None and column.descending == self.reverse else "▼"
        text = Text()
        text.append(f"by {self.grouping.value}", style="bold")
        text.append(f" · sort {label}{order}")
        if self.filter_text:
            text.append(f" · filter “{self.filter_text}”", style="bold")
        if total is not None:
            text.append(f" · {len(self.rows)} of {total} rows")
            if len(self.rows) > self.max_rows:
                text.append(f", top {self.max_rows} listed (/ to filter)")
            if self.frame is not None and not self.frame.snapshot.processes:
                text.append(" · no per-process data in this snapshot")
        show_in_place(self.query_one("#status", Static), text)

    # ---- actions ------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        paused = not self.status.paused
        self.status = self._status(paused=paused)
        self.feed.set_paused(paused)
        self._draw_header()

    def action_sort(self) -> None:
        names = [c.name for c in self._columns()]
        self.sort = (
            names[(names.index(self.sort) + 1) % len(names)] if self.sort in names else DEFAULT_SORT
        )
        self.reverse = False
        self._draw_table()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self._draw_table()

    @on(WorkloadTable.HeaderSelected)
    def _header_selected(self, event: WorkloadTable.HeaderSelected) -> None:
        name = event.column
        if name == self.sort:
            self.reverse = not self.reverse
        else:
            self.sort, self.reverse = name, False
        self._draw_table()

    def action_group(self) -> None:
        pods = self.frame is not None and in_pods(self.frame.snapshot)
        self.grouping = self.grouping.next(pods)
        self._draw_table()

    def action_filter(self) -> None:
        self.query_one(TabbedContent).active = "workloads"
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.filter_text
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._draw_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self._close_filter()

    def _close_filter(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(WorkloadTable).focus()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        box = self.query_one("#filter", Input)
        if key == "escape" and box.has_focus:
            box.value = ""
            self.filter_text = ""
            self._close_filter()
            self._draw_table()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "workloads":
            self.query_one(WorkloadTable).focus()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    @on(WorkloadTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_detail()

    def action_detail(self) -> None:
        if self.frame is None or isinstance(self.screen, DetailScreen):
            return
        row = self.query_one(WorkloadTable).selected_row()
        if row is None:
            self.notify("No workload selected: this snapshot has no per-process data.")
            return
        self.push_screen(DetailScreen(row, self.frame.snapshot, self.history, self.policy_reader))

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(0)
