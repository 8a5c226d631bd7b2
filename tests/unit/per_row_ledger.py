"""The counter ledger in its first, per-series form: slow (a dozen array
operations per named row), plain to read, and the oracle the array form in
numascope.exporters.prometheus.ledger is held to (tests/unit/test_counter_ledger.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from numascope.exporters.prometheus.ledger import LINGER_SECONDS, LedgerView, Values


@dataclass
class _Series:
    labels: Hashable
    last: Values  # its row's total at the last step it was named
    value: Values
    until: float = 0.0  # when a lingering series goes


class PerRowLedger:
    """The ledger written one series at a time: the oracle for CounterLedger."""

    def __init__(self, linger: float = LINGER_SECONDS, max_lingering: int = 50) -> None:
        self.linger, self.max_lingering = linger, max_lingering
        self._columns: list[Hashable] = []
        self._slot: dict[Hashable, int] = {}
        self._last_input: tuple[Hashable, ...] | None = None
        self._index = np.zeros(0, dtype=np.intp)
        self._sum = np.zeros(0, dtype=np.int64)  # the rows' totals, summed, last step
        self._other = np.zeros(0, dtype=np.int64)
        self._owed = np.zeros(0, dtype=np.int64)  # held back from "other"'s next increments
        # By (row key, labels): the named series, and those frozen since their row left.
        self._named: dict[Hashable, _Series] = {}
        self._lingering: dict[Hashable, _Series] = {}

    def step(
        self,
        keys: Sequence[Hashable] | npt.NDArray[np.object_],
        totals: Values,
        columns: tuple[Hashable, ...],
        named: Sequence[int],
        labels: Sequence[Hashable],
        now: float,
    ) -> LedgerView:
        """Advance by one poll at time `now`: `totals` holds each row's running
        totals (a row per key, a column per entry of `columns`), `named` the rows
        with series of their own and `labels` (in the same order) their labels.

        A row whose labels change (a process renamed) gets a new series."""
        index, fresh = self._align(columns)
        width = len(self._columns)
        summed = self._sum.copy()
        # A fresh column starts from its current sum (a baseline, not growth).
        summed[index] = totals.sum(axis=0, dtype=np.int64) if len(totals) else 0
        grown = summed - self._sum
        grown[fresh] = 0
        held: dict[Hashable, _Series] = {}
        added = np.zeros(width, dtype=np.int64)
        for i, label in zip(named, labels, strict=True):
            row = np.zeros(width, dtype=np.int64)
            row[index] = totals[i]
            ident = (keys[i], label)
            series = self._named.pop(ident, None)
            if series is None:
                # New, or back from lingering: what it did this step is folded.
                series = self._lingering.pop(ident, None) or _Series(
                    label, row, np.zeros(width, dtype=np.int64)
                )
                series.last = row
            else:
                grew = np.maximum(row - series.last, 0)
                grew[fresh] = 0  # a baseline here too
                added += grew
                series.value = series.value + grew
                series.last = row
            held[ident] = series
        for left, series in self._named.items():  # left the budget
            series.until = now + self.linger
            self._lingering[left] = series
        self._expire(now)
        rest = grown - added - self._owed
        self._owed = np.maximum(-rest, 0)
        self._other = self._other + np.maximum(rest, 0)
        self._named = held
        self._sum = summed
        every = [*held.values(), *self._lingering.values()]
        values = (
            np.stack([s.value for s in every]) if every else np.zeros((0, width), dtype=np.int64)
        )
        return LedgerView(
            tuple(self._columns), tuple(s.labels for s in every), values, self._other.copy()
        )

    def _expire(self, now: float) -> None:
        """Drop lingering series whose time is up, and the oldest beyond the cap
        (a budget that churns every poll must not grow the page without bound)."""
        gone = [k for k, s in self._lingering.items() if s.until <= now]
        excess = len(self._lingering) - len(gone) - self.max_lingering
        if excess > 0:
            alive = sorted((s.until, n) for n, (k, s) in enumerate(self._lingering.items()))
            order = list(self._lingering)
            gone += [order[n] for _, n in alive if order[n] not in gone][:excess]
        for k in gone:
            del self._lingering[k]

    def _align(self, columns: tuple[Hashable, ...]) -> tuple[npt.NDArray[np.intp], list[int]]:
        """The ledger slot of each input column, and the slots new at this step.

        The ledger keeps every column it has seen (a node whose rows all went
        keeps its "other" value), so inputs are mapped onto its slots."""
        if columns == self._last_input:
            return self._index, []
        fresh = []
        for column in columns:
            if column not in self._slot:
                self._slot[column] = len(self._columns)
                self._columns.append(column)
                fresh.append(self._slot[column])
        if fresh:
            grow = len(fresh)
            self._sum = np.r_[self._sum, np.zeros(grow, dtype=np.int64)]
            self._other = np.r_[self._other, np.zeros(grow, dtype=np.int64)]
            self._owed = np.r_[self._owed, np.zeros(grow, dtype=np.int64)]
            for series in (*self._named.values(), *self._lingering.values()):
                series.last = np.r_[series.last, np.zeros(grow, dtype=np.int64)]
                series.value = np.r_[series.value, np.zeros(grow, dtype=np.int64)]
        self._index = np.array([self._slot[c] for c in columns], dtype=np.intp)
        self._last_input = columns
        return self._index, fresh
