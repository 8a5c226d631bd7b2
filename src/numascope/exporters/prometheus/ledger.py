"""Counters for a family cut by a label budget, stepped once per poll.

A family such as the workloads is a set of rows (one per workload) with running
totals, of which only some get series of their own; the rest share one folded
series ("other"). Exporting the rows' running totals as they are breaks
`increase()` in Prometheus: a newly named series is born carrying its whole
past (which `increase()` never counts), and "other" drops when a row leaves it
(read as a counter reset) and jumps when one joins it. So a family's series
are not its rows' totals but a ledger of what the rows added, step by step:

- a named series starts at 0 when its row is first named, then adds what its
  row adds while it stays named (never less than 0: a row that shrinks because
  the collector folded part of it elsewhere adds nothing that step);
- a row that leaves the budget (demoted, exited, retired) loses its series,
  which goes stale in Prometheus, and from then on what it adds is folded;
- "other" adds the rest: what all the rows together grew by, less what the
  named series added. It never decreases; if a step would take it below zero
  (counts moved into a named row) the shortfall is held back from its next
  increments, so the sum over all series stays equal to the rows' growth.

Summed over every series the family ever exposed, the values equal the growth
of the rows' summed totals since the first step: no count is moved between
series, and none is counted twice. A column (a node, an order class) seen for
the first time is a baseline: its counts so far are not exported, as the
host-level counters' first exposure is not counted by `increase()` either.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Values = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LedgerView:
    """The exported values after one step: columns, named series and "other"."""

    columns: tuple[Hashable, ...]
    named_keys: tuple[Hashable, ...]
    named: Values  # one row per named key, one column per column
    other: Values  # the folded series, per column


class CounterLedger:
    """One budgeted family's exported counter values (not thread-safe: the caller
    steps it from one thread, or under its own lock)."""

    def __init__(self) -> None:
        self._columns: list[Hashable] = []
        self._slot: dict[Hashable, int] = {}
        self._last_input: tuple[Hashable, ...] | None = None
        self._index = np.zeros(0, dtype=np.intp)
        self._sum = np.zeros(0, dtype=np.int64)  # the rows' totals, summed, last step
        self._other = np.zeros(0, dtype=np.int64)
        self._owed = np.zeros(0, dtype=np.int64)  # held back from "other"'s next increments
        # Per named key: its row's total at the last step, and its series' value.
        self._held: dict[Hashable, tuple[Values, Values]] = {}

    def step(
        self,
        keys: Sequence[Hashable] | npt.NDArray[np.object_],
        totals: Values,
        columns: tuple[Hashable, ...],
        named: Sequence[int],
    ) -> LedgerView:
        """Advance by one poll: `totals` holds each row's running totals (a row per
        key, a column per entry of `columns`), `named` the rows with series."""
        index, fresh = self._align(columns)
        width = len(self._columns)
        now = self._sum.copy()
        # A fresh column starts from its current sum (a baseline, not growth).
        now[index] = totals.sum(axis=0, dtype=np.int64) if len(totals) else 0
        grown = now - self._sum
        grown[fresh] = 0
        held: dict[Hashable, tuple[Values, Values]] = {}
        added = np.zeros(width, dtype=np.int64)
        for i in named:
            row = np.zeros(width, dtype=np.int64)
            row[index] = totals[i]
            key = keys[i]
            before = self._held.get(key)
            if before is None:
                held[key] = (row, np.zeros(width, dtype=np.int64))
                continue
            last, value = before
            step = np.maximum(row - last, 0)
            step[fresh] = 0  # a baseline here too
            added += step
            held[key] = (row, value + step)
        rest = grown - added - self._owed
        self._owed = np.maximum(-rest, 0)
        self._other = self._other + np.maximum(rest, 0)
        self._held = held
        self._sum = now
        names = tuple(held)
        values = (
            np.stack([held[k][1] for k in names]) if names else np.zeros((0, width), dtype=np.int64)
        )
        return LedgerView(tuple(self._columns), names, values, self._other.copy())

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
            self._held = {
                k: (np.r_[last, np.zeros(grow, dtype=np.int64)], np.r_[v, np.zeros(grow, np.int64)])
                for k, (last, v) in self._held.items()
            }
        self._index = np.array([self._slot[c] for c in columns], dtype=np.intp)
        self._last_input = columns
        return self._index, fresh
