"""The workloads table: a Line API view that draws only the rows on screen.

Each frame hands the table its rows in order and nothing more: a row's cells are
formatted when its line is first drawn, and a drawn line is kept (as a Strip) for as
long as its text, its place and its highlight stay the same. A frame therefore costs
the lines on screen whose text changed, whatever the number of rows. (Textual's
DataTable keys its render caches on one update counter, so any cell update
re-rendered every visible cell through Rich.)

It looks and answers like the DataTable it replaced: a fixed header that scrolls
sideways with the rows, a row cursor that stays on its workload from frame to frame,
the same keys and the same component styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from numascope.tui.format import SEVERITY_MARK
from numascope.tui.rows import Column, Row

# A cell as text and style ("" for none): plain data, so comparing two is cheap and exact.
Cell = tuple[str, str]
PADDING = 1  # blank cells either side of a column's text
HEADER = -1  # the header's row index in hover state and in segment metadata

# A process names itself (prctl, exec): a control character in a name must not reach
# the terminal, where an escape sequence would act rather than show.
_PRINTABLE = {code: "?" for code in (*range(0x20), 0x7F)}


def row_cells(columns: Sequence[Column], row: Row) -> tuple[Cell, ...]:
    """A row's cells as the table shows them; the finding cell is coloured by severity."""
    worst = row.worst_finding
    style = SEVERITY_MARK[worst.severity][2] if worst is not None else ""
    return tuple(
        (column.text(row).translate(_PRINTABLE), style if column.name == "finding" else "")
        for column in columns
    )


class WorkloadTable(ScrollView, can_focus=True):
    """The rows of one frame, sorted by the app, with a cursor that follows its workload."""

    # Shown in the footer: the table's own Enter binding hides the app's.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail", key_display="⏎"),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "cursor_top", "Top", show=False),
        Binding("ctrl+end", "cursor_bottom", "Bottom", show=False),
        Binding("home", "scroll_home", "Home", show=False),
        Binding("end", "scroll_end", "End", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "workloads--header",
        "workloads--cursor",
        "workloads--hover",
        "workloads--header-hover",
    }
    # DataTable's look, so the screen reads as it always has.
    DEFAULT_CSS = """
    WorkloadTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .workloads--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .workloads--header {
                background-tint: $foreground 5%;
            }
        }
        & > .workloads--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .workloads--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .workloads--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .workloads--header-hover {
            background: $accent 30%;
        }
        & > .workloads--hover {
            background: $block-hover-background;
        }
    }
    """

    class RowSelected(Message):
        """Enter, or a click on the row under the cursor."""

        def __init__(self, row: Row) -> None:
            super().__init__()
            self.row = row

    class HeaderSelected(Message):
        """A click on a column's header: `column` is the column's name."""

        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._columns: list[Column] = []
        self._header: tuple[Cell, ...] = ()
        self.rows_shown: list[Row] = []
        self.cursor_row = 0
        self._hover_row: int | None = None  # the row under the mouse; None once keys move
        self._cells: dict[int, tuple[Cell, ...]] = {}  # this frame's rows, formatted when drawn
        # Drawn lines by (index, cells, highlight, width): this frame's and the last one's,
        # so a frame keeps the lines that did not change and drops the others.
        self._strips: dict[tuple[object, ...], Strip] = {}
        self._last_strips: dict[tuple[object, ...], Strip] = {}
        self._look: tuple[Style, ...] = ()  # the styles the kept lines were drawn with
        self._styles: dict[tuple[int, bool, bool], tuple[list[tuple[Style, Style]], Style, Style]]
        self._styles = {}

    # ---- what the app calls --------------------------------------------------------
    def show(
        self, columns: Sequence[Column], rows: Sequence[Row], sort: str, reverse: bool
    ) -> None:
        """Show `rows` in this order, keeping the cursor on the same workload."""
        selected = self.selected_key()
        if [c.name for c in columns] != [c.name for c in self._columns]:
            self._columns = list(columns)
            self._forget_lines()
        self._header = tuple(
            (column.label + self._arrow(column, sort, reverse), "") for column in columns
        )
        self.rows_shown = list(rows)
        self._cells = {}
        self._last_strips, self._strips = self._strips, {}
        width = sum(column.width + 2 * PADDING for column in self._columns)
        self.virtual_size = Size(width, len(self.rows_shown) + 1)
        index = next((i for i, r in enumerate(self.rows_shown) if r.key == selected), None)
        self._move_cursor(self.cursor_row if index is None else index)
        self.refresh()

    def selected_key(self) -> str | None:
        row = self.selected_row()
        return row.key if row is not None else None

    def selected_row(self) -> Row | None:
        if not self.rows_shown:
            return None
        return self.rows_shown[min(max(self.cursor_row, 0), len(self.rows_shown) - 1)]

    @staticmethod
    def _arrow(column: Column, sort: str, reverse: bool) -> str:
        if column.name != sort:
            return ""
        return "▼" if column.descending != reverse else "▲"

    # ---- drawing -------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        self._check_look()  # once per update: the styles cost more to look up than a line
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if not self._look:
            self._check_look()
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        index = HEADER if y == 0 else y - 1 + scroll_y
        if index >= len(self.rows_shown):
            return Strip.blank(width, self._look[0])
        if index == HEADER:
            cells = self._header
        else:
            found = self._cells.get(index)
            if found is None:
                found = self._cells[index] = row_cells(self._columns, self.rows_shown[index])
            cells = found
        hover = self._hover_row == index
        key = (index, cells, hover, index == self.cursor_row, width)
        strip = self._strips.get(key) or self._last_strips.get(key)
        if strip is None:
            strip = self._draw(index, cells, hover, width)
        self._strips[key] = strip
        return strip.crop(scroll_x, scroll_x + width)

    def _check_look(self) -> None:
        # Focus, a theme or a CSS change restyle every line: drop the kept ones then.
        look = (
            self.rich_style,
            self.get_component_styles("workloads--header").rich_style,
            *(
                self.get_component_rich_style(f"workloads--{name}")
                for name in ("cursor", "hover", "header-hover")
            ),
        )
        if look != self._look:
            self._look = look
            self._forget_lines()

    def _forget_lines(self) -> None:
        self._strips, self._last_strips = {}, {}
        self._styles = {}

    def _draw(self, index: int, cells: tuple[Cell, ...], hover: bool, width: int) -> Strip:
        styles, post, extend = self._line_styles(index, hover, index == self.cursor_row)
        pad = " " * PADDING
        segments = []
        for (text, style), column, (pre, blank) in zip(cells, self._columns, styles, strict=True):
            body = text if cell_len(text) <= column.width else set_cell_size(text, column.width)
            segments.append(Segment(pad, blank))
            if body:
                segments.append(Segment(body, pre + Style.parse(style) + post if style else blank))
            segments.append(Segment(" " * (column.width - cell_len(body)) + pad, blank))
        table_width = sum(column.width + 2 * PADDING for column in self._columns)
        segments.append(Segment(" " * max(0, width - table_width), extend))
        return Strip(segments).simplify()

    def _line_styles(
        self, index: int, hover: bool, cursor: bool
    ) -> tuple[list[tuple[Style, Style]], Style, Style]:
        """Per cell (style under the text, style of the blanks), the highlight's colours,
        and the style of the rest of the line; kept, as building a Style with the cell's
        position in it (for the mouse) costs more than drawing the line."""
        key = (index, hover, cursor)
        found = self._styles.get(key)
        if found is not None:
            return found
        base, header, cursor_style, hover_style, header_hover = self._look
        row_style = header if index == HEADER else base
        # As DataTable layers them: highlight over the row, the cell's own style, then
        # the highlight's colours again so they win over the cell's.
        component = Style()
        if hover:
            component += hover_style
            if index == HEADER:
                component += header_hover
        if cursor:
            component += cursor_style
        post = Style.from_color(color=component.color) + Style.from_color(bgcolor=component.bgcolor)
        cells = []
        for column_index in range(len(self._columns)):
            pre = row_style + Style.from_meta({"row": index, "column": column_index}) + component
            cells.append((pre, pre + post))
        extend = row_style + component
        extend += Style.from_meta({"row": index, "column": 0, "out_of_bounds": True})
        found = self._styles[key] = (cells, post, extend)
        return found

    # ---- the cursor ----------------------------------------------------------------
    def _move_cursor(self, row: int) -> None:
        row = min(max(row, 0), max(len(self.rows_shown) - 1, 0))
        if row != self.cursor_row:
            self.cursor_row = row
            self.refresh()
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # below the header
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, force=True, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(
                y=self.cursor_row - visible + 1, animate=False, force=True, immediate=True
            )

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _keys_move(self) -> None:
        # As in DataTable: the mouse's highlight goes once the keyboard moves the cursor.
        if self._hover_row is not None:
            self._hover_row = None
            self.refresh()

    def action_cursor_up(self) -> None:
        self._keys_move()
        self._move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._keys_move()
        self._move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._keys_move()
        self.scroll_relative(y=-self._page(), animate=False, force=True, immediate=True)
        self._move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self._keys_move()
        self.scroll_relative(y=self._page(), animate=False, force=True, immediate=True)
        self._move_cursor(self.cursor_row + self._page())

    def action_cursor_top(self) -> None:
        self._keys_move()
        self._move_cursor(0)

    def action_cursor_bottom(self) -> None:
        self._keys_move()
        self._move_cursor(len(self.rows_shown) - 1)

    def action_scroll_home(self) -> None:
        self._keys_move()
        self.scroll_to(x=0, animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        self._keys_move()
        self.scroll_to(x=self.max_scroll_x, animate=False, immediate=True)

    def action_select_cursor(self) -> None:
        self._keys_move()
        row = self.selected_row()
        if row is not None:
            self.post_message(self.RowSelected(row))

    # ---- the mouse -----------------------------------------------------------------
    def _on_mouse_move(self, event: events.MouseMove) -> None:
        row = event.style.meta.get("row")
        hover = row if isinstance(row, int) else None
        if hover != self._hover_row:
            self._hover_row = hover
            self.refresh()

    def _on_leave(self, _: events.Leave) -> None:
        if self._hover_row is not None:
            self._hover_row = None
            self.refresh()

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        row, column = meta.get("row"), meta.get("column")
        if not isinstance(row, int) or not isinstance(column, int):
            return
        if row == HEADER:
            if not meta.get("out_of_bounds"):
                self.post_message(self.HeaderSelected(self._columns[column].name))
            return
        if row >= len(self.rows_shown):
            return
        event.stop()
        if row == self.cursor_row:
            self.post_message(self.RowSelected(self.rows_shown[row]))
        else:
            self._move_cursor(row)
