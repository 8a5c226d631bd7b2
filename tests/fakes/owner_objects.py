"""Owner totals as one object per owner, for tests that write owners by hand.

numascope itself keeps owners as columns (collectors/owner_table.py); these
build such a table from a mapping, read one back, and attribute a mapping, so
a test can say "owner K has these counts" in one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from numascope.collectors.attribution import Attribution, Attributor
from numascope.collectors.owner_table import (
    COMM_DTYPE,
    KEY_DTYPE,
    OwnerKey,
    OwnerTable,
    new_serials,
)


@dataclass
class OwnerTotals:
    """Running totals for one owner, per counter slot (page node x order class)."""

    events: list[int]
    pages: list[int]
    comm: bytes = b""

    def add(self, events: Iterable[int], pages: Iterable[int]) -> None:
        self.events = [a + b for a, b in zip(self.events, events, strict=True)]
        self.pages = [a + b for a, b in zip(self.pages, pages, strict=True)]


def table_of(owners: Mapping[OwnerKey, OwnerTotals], slots: int) -> OwnerTable:
    """`owners` as an owner table, every row live and changed."""
    keys = list(owners)
    n = len(keys)
    events = np.zeros((n, slots), dtype=np.int64)
    pages = np.zeros((n, slots), dtype=np.int64)
    for i, totals in enumerate(owners.values()):
        events[i] = totals.events
        pages[i] = totals.pages
    columns = np.zeros(n, dtype=KEY_DTYPE)
    for i, k in enumerate(keys):
        columns[i] = (*k, 0)
    return OwnerTable(
        keys,
        columns,
        np.ones(n, dtype=bool),
        events,
        pages,
        np.array([t.comm for t in owners.values()], dtype=COMM_DTYPE),
        np.ones(n, dtype=bool),
        np.zeros(n, dtype=bool),
        new_serials(n),
    )


def owners_of(table: OwnerTable) -> dict[OwnerKey, OwnerTotals]:
    """The live rows of `table`, one object per owner."""
    return {
        table.keys[i]: OwnerTotals(
            table.events[i].tolist(), table.pages[i].tolist(), bytes(table.comms[i])
        )
        for i in table.rows().tolist()
    }


def alive_rows(table: OwnerTable, alive: set[int]) -> npt.NDArray[np.bool_]:
    """Per row of `table`: its tgid is among the pids `alive`."""
    pids = np.fromiter(alive, dtype=np.int64, count=len(alive))
    return np.isin(table.columns["tgid"].astype(np.int64), pids)


def attribute(
    attributor: Attributor, owners: Mapping[OwnerKey, OwnerTotals], alive: set[int], now: float
) -> Attribution:
    """Attribute one object per owner; `alive` holds the pids alive now."""
    table = table_of(owners, attributor.layout.count_slots)
    return attributor.attribute_table(table, alive_rows(table, alive), now)
