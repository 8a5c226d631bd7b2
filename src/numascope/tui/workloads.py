"""The workloads table: rows edited in place from each frame, the cursor kept on its workload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from numascope.tui.format import SEVERITY_MARK
from numascope.tui.rows import Column, Row

# A cell as text and style ("" for none): plain data, so comparing two is cheap and exact.
Cell = tuple[str, str]
# Above this share of rows gone, the table is refilled rather than edited.
REBUILD_SHARE = 0.5


def _cells(columns: Sequence[Column], row: Row, finding_col: int) -> tuple[Cell, ...]:
    cells = [(column.text(row), "") for column in columns]
    worst = row.worst_finding
    if finding_col >= 0 and worst is not None:
        cells[finding_col] = (cells[finding_col][0], SEVERITY_MARK[worst.severity][2])
    return tuple(cells)


def _render(cell: Cell) -> str | Text:
    text, style = cell
    return Text(text, style=style)


class WorkloadTable(DataTable[str | Text]):
    """A DataTable that knows its columns and redraws from a list of rows."""

    # Shown in the footer: the table's own Enter binding hides the app's.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail", key_display="⏎")
    ]
    DEFAULT_CSS = """
    WorkloadTable { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._columns: list[Column] = []
        self.rows_shown: list[Row] = []
        self._cells: dict[str, tuple[Cell, ...]] = {}  # what each row's cells show now
        self._first: dict[str, Text] = {}  # each row's first cell, as stored in the table
        self._order: list[str] = []  # row keys, top to bottom

    def show(
        self, columns: Sequence[Column], rows: Sequence[Row], sort: str, reverse: bool
    ) -> None:
        """Show `rows` in this order, keeping the cursor on the same workload.

        The table is not rebuilt: a cell that changed is updated in place, rows that
        come or go are added or removed, and the rows are put in order. Adding a row
        costs the table a measurement of every cell, so most frames, where the same
        workloads stay on top, cost a few cell updates.
        """
        selected = self.selected_key()
        names = [c.name for c in columns]
        if names != [c.name for c in self._columns]:
            self.clear(columns=True)
            self._cells.clear()
            self._first.clear()
            self._order = []
            self._columns = list(columns)
            for column in columns:
                self.add_column(column.label, key=column.name, width=column.width)
        self._label_columns(columns, sort, reverse)
        finding_col = names.index("finding") if "finding" in names else -1
        wanted = {row.key: _cells(columns, row, finding_col) for row in rows}
        gone = [key for key in self._order if key not in wanted]
        if len(gone) > REBUILD_SHARE * max(1, len(self._order)):
            # Most rows replaced (a new filter or grouping): starting over is cheaper
            # than removing rows one at a time, each of which renumbers the rest.
            self.clear()
            self._cells.clear()
            self._first.clear()
            gone, self._order = [], []
        for key in gone:
            self.remove_row(key)
            del self._cells[key], self._first[key]
        kept = [key for key in self._order if key in wanted]
        for key, cells in wanted.items():
            old = self._cells.get(key)
            if old is None:
                first = Text(cells[0][0], style=cells[0][1])
                self._first[key] = first
                self.add_row(first, *(_render(c) for c in cells[1:]), key=key)
            else:
                for index, (name, new, was) in enumerate(zip(names, cells, old, strict=True)):
                    if new != was:
                        value = Text(new[0], style=new[1]) if index == 0 else _render(new)
                        if index == 0:
                            self._first[key] = value  # type: ignore[assignment]
                        self.update_cell(key, name, value)
            self._cells[key] = cells
        order = list(wanted)
        stayed = set(kept)
        # Removing keeps the others' order and adding appends: this is the table's order now.
        if order != kept + [key for key in order if key not in stayed]:
            self._put_in_order(order, names[0])
        self._order = order
        self.rows_shown = list(rows)
        if selected is not None and selected in wanted:
            index = order.index(selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    def _put_in_order(self, order: Sequence[str], first_column: str) -> None:
        # DataTable.sort hands the key function cell values, not row keys: the first
        # cell of every row is a Text object of its own, so its identity names the row.
        position = {id(self._first[key]): i for i, key in enumerate(order)}
        self.sort(first_column, key=lambda cell: position[id(cell)])

    def _label_columns(self, columns: Sequence[Column], sort: str, reverse: bool) -> None:
        for column in columns:
            arrow = ""
            if column.name == sort:
                arrow = "▼" if column.descending != reverse else "▲"
            label = column.label + arrow
            header = self.columns[column.name]  # type: ignore[index]
            if header.label.plain != label:
                header.label = Text(label)

    def selected_key(self) -> str | None:
        row = self.selected_row()
        return row.key if row is not None else None

    def selected_row(self) -> Row | None:
        if not self.rows_shown or self.row_count == 0:
            return None
        return self.rows_shown[min(max(self.cursor_row, 0), len(self.rows_shown) - 1)]
