"""The workloads table: rows rebuilt from each frame, the cursor kept on its workload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from numascope.tui.format import SEVERITY_MARK
from numascope.tui.rows import Column, Row


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

    def show(
        self, columns: Sequence[Column], rows: Sequence[Row], sort: str, reverse: bool
    ) -> None:
        """Replace the contents, keeping the cursor on the same workload when it is still there."""
        selected = self.selected_key()
        names = [c.name for c in columns]
        if names != [c.name for c in self._columns]:
            self.clear(columns=True)
            self._columns = list(columns)
            for column in columns:
                self.add_column(column.label, key=column.name, width=column.width)
        else:
            self.clear()
        for column in columns:
            arrow = ""
            if column.name == sort:
                arrow = "▼" if column.descending != reverse else "▲"
            self.columns[column.name].label = Text(column.label + arrow)  # type: ignore[index]
        self.rows_shown = list(rows)
        finding_col = names.index("finding") if "finding" in names else -1
        for row in rows:
            cells: list[str | Text] = [c.text(row) for c in columns]
            worst = row.worst_finding
            if finding_col >= 0 and worst is not None:
                cells[finding_col] = Text(
                    str(cells[finding_col]), style=SEVERITY_MARK[worst.severity][2]
                )
            self.add_row(*cells, key=row.key)
        if selected is not None:
            index = next((i for i, r in enumerate(self.rows_shown) if r.key == selected), None)
            if index is not None:
                self.move_cursor(row=index, animate=False)

    def selected_key(self) -> str | None:
        row = self.selected_row()
        return row.key if row is not None else None

    def selected_row(self) -> Row | None:
        if not self.rows_shown or self.row_count == 0:
            return None
        return self.rows_shown[min(max(self.cursor_row, 0), len(self.rows_shown) - 1)]
