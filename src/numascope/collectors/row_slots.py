"""A memo of what each owner row was found to be, kept while the row holds that owner."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from numascope.collectors.owner_table import OwnerTable


class RowSlots:
    """A slot for each owner row (-1: none), valid while the row holds the owner
    (by serial) it was found for: a row that holds a new owner is stale, and
    only stale rows cost a look-up."""

    def __init__(self) -> None:
        self.slots = np.zeros(0, dtype=np.intp)
        self._serials = np.zeros(0, dtype=np.int64)

    def stale(self, table: OwnerTable, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        """Which of `rows` hold an owner other than the one their slot was found for."""
        size, have = len(table.keys), len(self.slots)
        if have < size:
            grow = max(size, 2 * have) - have
            self.slots = np.concatenate([self.slots, np.full(grow, -1, dtype=np.intp)])
            self._serials = np.concatenate([self._serials, np.zeros(grow, dtype=np.int64)])
        stale: npt.NDArray[np.bool_] = self._serials[rows] != table.serials[rows]
        return stale

    def keep(self, rows: Any, slots: Any, serials: Any) -> None:
        """`rows` hold `slots` while they hold the owners of `serials` (0: look again)."""
        self.slots[rows] = slots
        self._serials[rows] = serials

    def drop(self, slots: list[int]) -> None:
        """Rows holding these slots are looked up afresh."""
        self._serials[np.isin(self.slots, slots)] = 0
