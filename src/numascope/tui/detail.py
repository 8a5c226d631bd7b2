"""The detail screen for one workload row: history, real policy, findings, next steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.snapshot.model import Snapshot
from numascope.topology import format_list
from numascope.tui.advice import what_next
from numascope.tui.balancing import balancing_detail
from numascope.tui.format import SEVERITY_MARK, finding_reason, human, percent, size, sparkline
from numascope.tui.history import History
from numascope.tui.migrations import migrations_text
from numascope.tui.rows import Row

PolicyReader = Callable[[int], ProcessPolicy | None]


def identity(row: Row) -> Text:
    text = Text()
    text.append(f"{row.name}", style="bold")
    text.append(f"  {row.kind}")
    if row.pid is not None:
        text.append(f"  pid {row.pid}")
    if not row.alive:
        text.append("  (exited)", style="bold")
    text.append(f"\ncgroup {row.cgroup or '-'}   rule {row.rule or '-'}   ")
    text.append(f"mempolicy {row.mempolicy or '-'}")
    if row.pod is not None:
        # A line each: a container id alone is 64 characters.
        text.append(f"\npod {row.pod.pod_uid}   qos {row.pod.qos or '-'}")
        text.append(f"\ncontainer {row.pod.container_id or '-'}")
    if len(row.members) > 1:
        text.append(f"\n{len(row.members)} processes in this group")
    return text


def pages_history(row: Row, snapshot: Snapshot, history: History, width: int) -> RenderableType:
    keys = (row.key,) if row.kind == "cgroup" and snapshot.cgroups else row.members
    frames = history.pages_by_node(keys)
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for name in ("NODE", "LAST", "TOTAL", "SHARE", f"PAGES PER INTERVAL, LAST {len(frames)}"):
        table.add_column(name, justify="left" if name != "TOTAL" and name != "LAST" else "right")
    nodes = sorted(set(snapshot.node_ids) | set(row.total.pages_by_node))
    total = max(row.total.pages, 1)
    for node in nodes:
        series = [float(f.get(node, 0)) for f in frames]
        table.add_row(
            f"N{node}" if node >= 0 else "N?",
            human(row.delta.pages_by_node.get(node, 0)),
            human(row.total.pages_by_node.get(node, 0)),
            percent(row.total.pages_by_node.get(node, 0) / total),
            sparkline(series, width),
        )
    summary = Text(
        f"last interval: {human(row.delta.pages)} pages, {percent(row.delta.remote_ratio)} remote; "
        f"since start: {human(row.total.pages)} pages, {percent(row.total.remote_ratio)} remote"
    )
    return Group(table, summary)


def policy_summary(policy: ProcessPolicy | None, why_missing: str) -> RenderableType:
    if policy is None:
        return Text(why_missing)
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("POLICY")
    table.add_column("REGIONS", justify="right")
    table.add_column("RESIDENT", justify="right")
    for name, regions in sorted(policy.regions_by_policy.items(), key=lambda kv: -kv[1]):
        table.add_row(name, str(regions), size(policy.bytes_by_policy.get(name, 0)))
    allowed = format_list(policy.mems_allowed) or "?"
    facts = Text(
        f"dominant {policy.dominant}   mems_allowed {allowed}   cpuset {policy.cpuset or '-'}"
    )
    return Group(facts, table)


def findings_text(row: Row) -> RenderableType:
    if not row.findings:
        return Text("No findings: this workload fits its rule.")
    parts: list[RenderableType] = []
    for f in row.findings:
        symbol, word, style = SEVERITY_MARK[f.severity]
        head = Text(f"{symbol} {word} {finding_reason(f)}  [{f.kind}, rule {f.rule}]", style=style)
        parts.append(head)
        parts.append(Text(f"  {f.message}"))
        for key, value in f.evidence.items():
            parts.append(Text(f"    {key}: {value}"))
    return Group(*parts)


class DetailScreen(Screen[None]):
    """Full-screen detail; the app calls `update()` on every new frame while it is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "app.pop_screen", "Back", show=False),
        Binding("q", "app.quit", "Quit"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]
    DEFAULT_CSS = """
    DetailScreen Static.title { background: $boost; text-style: bold; padding: 0 1; }
    DetailScreen Static.section { padding: 0 1 1 1; }
    """

    def __init__(
        self, row: Row, snapshot: Snapshot, history: History, reader: PolicyReader | None
    ) -> None:
        super().__init__()
        self.row = row
        self.snapshot = snapshot
        self.history = history
        self.reader = reader
        self.policy: ProcessPolicy | None = None
        self.policy_note = "reading /proc/PID/numa_maps…"
        self.ready = False  # set once composed: frames may arrive before that

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="identity", classes="section")
            yield Static("Pages by node", classes="title")
            yield Static(id="pages", classes="section")
            yield Static("Memory policy in numa_maps (per region)", classes="title")
            yield Static(id="policy", classes="section")
            yield Static("NUMA balancing (/proc/PID/sched)", classes="title")
            yield Static(id="balancing", classes="section")
            yield Static("Pages migrated (moved between frames by the kernel)", classes="title")
            yield Static(id="migrations", classes="section")
            yield Static("Findings and evidence", classes="title")
            yield Static(id="findings", classes="section")
            yield Static("What to check next", classes="title")
            yield Static(id="next", classes="section")
        yield Footer()

    def on_mount(self) -> None:
        if self.reader is None:
            self.policy_note = "Not available: a replay has no live process to read."
        elif self.row.pid is None:
            self.policy_note = "Not available: this row is not a single process."
        elif not self.row.alive:
            self.policy_note = "Not available: the process has exited."
        else:
            self._read_policy(self.row.pid)
        self.ready = True
        self.update(self.row, self.snapshot)

    @work(thread=True, exclusive=True)
    def _read_policy(self, pid: int) -> None:
        # numa_maps of a large process is slow to read: keep it off the UI thread.
        assert self.reader is not None
        try:
            policy = self.reader(pid)
            note = "" if policy is not None else "Not available: the process is gone or unreadable."
        except OSError as exc:
            policy, note = None, f"Not available: {exc}"
        self.app.call_from_thread(self._policy_read, policy, note)

    def _policy_read(self, policy: ProcessPolicy | None, note: str) -> None:
        self.policy, self.policy_note = policy, note
        if not self.query("#policy"):
            return
        self.query_one("#policy", Static).update(policy_summary(policy, note))

    def update(self, row: Row, snapshot: Snapshot) -> None:
        """Redraw from a newer row of the same workload."""
        if not self.query("#identity"):
            return  # closing down: the app may still hand over a frame in flight
        self.row, self.snapshot = row, snapshot
        width = max(10, self.size.width - 40) if self.size.width else 30
        self.query_one("#identity", Static).update(identity(row))
        self.query_one("#pages", Static).update(pages_history(row, snapshot, self.history, width))
        self.query_one("#policy", Static).update(policy_summary(self.policy, self.policy_note))
        self.query_one("#balancing", Static).update(
            balancing_detail(row.pid, snapshot, row.cgroup if row.kind == "cgroup" else None)
        )
        self.query_one("#migrations", Static).update(migrations_text(row, snapshot))
        self.query_one("#findings", Static).update(findings_text(row))
        tips = Text("\n".join(f"• {tip}" for tip in what_next(row, snapshot)))
        self.query_one("#next", Static).update(tips)
