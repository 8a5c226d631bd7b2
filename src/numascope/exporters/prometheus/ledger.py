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
- a row that leaves the budget (demoted, exited, retired) has its series
  frozen at its last value for LINGER_SECONDS, then dropped (stale in
  Prometheus), or sooner when more than `max_lingering` are frozen (the
  oldest first); from the step it leaves, what it adds is folded. Named again
  while frozen, its series carries on from that value;
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


# A series whose row left the budget keeps its last value this long before it
# goes: Prometheus extrapolates a series that ends inside a range window by
# half a scrape interval at its average rate, so series ending mid-window
# would add up to a few percent more than the host; one frozen for longer than
# a window ends with a rate of 0 in any window that sees it end.
LINGER_SECONDS = 300.0


@dataclass(frozen=True)
class LedgerView:
    """The exported values after one step: columns, series and "other"."""

    columns: tuple[Hashable, ...]
    labels: tuple[Hashable, ...]  # of each series: named ones, then lingering ones
    values: Values  # one row per series, one column per column
    other: Values  # the folded series, per column


class CounterLedger:
    """One budgeted family's exported counter values (not thread-safe: the caller
    steps it from one thread, or under its own lock).

    Every series, named or lingering, is a row of two matrices (`_last`, its
    row's total when last named; `_value`, its exported value), so a step is a
    few array operations over all named rows at once, not a dozen per row: at
    a few hundred named rows per family the per-row form took most of the
    exporter's poll."""

    def __init__(self, linger: float = LINGER_SECONDS, max_lingering: int = 50) -> None:
        self.linger, self.max_lingering = linger, max_lingering
        self._columns: list[Hashable] = []
        self._slot: dict[Hashable, int] = {}
        self._last_input: tuple[Hashable, ...] | None = None
        self._index = np.zeros(0, dtype=np.intp)
        self._sum = np.zeros(0, dtype=np.int64)  # the rows' totals, summed, last step
        self._other = np.zeros(0, dtype=np.int64)
        self._owed = np.zeros(0, dtype=np.int64)  # held back from "other"'s next increments
        # One row per series slot; a slot is reused once its series is dropped.
        self._last = np.zeros((0, 0), dtype=np.int64)
        self._value = np.zeros((0, 0), dtype=np.int64)
        self._until = np.zeros(0, dtype=np.float64)  # when a lingering series goes
        self._labels: list[Hashable] = []
        self._free: list[int] = []
        # By (row key, labels): the slots of the named series, and of those
        # frozen since their row left.
        self._named: dict[Hashable, int] = {}
        self._lingering: dict[Hashable, int] = {}

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
        rows = np.zeros((len(named), width), dtype=np.int64)
        if len(named):
            rows[:, index] = totals[np.asarray(named, dtype=np.intp)]
        slots = np.full(len(named), -1, dtype=np.intp)
        continuing = np.zeros(len(named), dtype=bool)
        held: dict[Hashable, int] = {}
        for pos, (i, label) in enumerate(zip(named, labels, strict=True)):
            ident = (keys[i], label)
            if ident in held:
                continue  # named twice in one step: the first stands, the rest is folded
            slot = self._named.pop(ident, None)
            if slot is not None:
                continuing[pos] = True
            else:
                # New, or back from lingering: what it did this step is folded.
                slot = self._lingering.pop(ident, None)
                if slot is None:
                    slot = self._new_slot(label)
            held[ident] = slots[pos] = slot
        carried = slots[continuing]
        grew = np.maximum(rows[continuing] - self._last[carried], 0)
        grew[:, fresh] = 0  # a baseline here too
        added = grew.sum(axis=0, dtype=np.int64)
        self._value[carried] += grew
        placed = slots >= 0
        self._last[slots[placed]] = rows[placed]
        for left, slot in self._named.items():  # left the budget
            self._until[slot] = now + self.linger
            self._lingering[left] = slot
        self._expire(now)
        rest = grown - added - self._owed
        self._owed = np.maximum(-rest, 0)
        self._other = self._other + np.maximum(rest, 0)
        self._named = held
        self._sum = summed
        every = np.fromiter((*held.values(), *self._lingering.values()), dtype=np.intp, count=-1)
        return LedgerView(
            tuple(self._columns),
            tuple(self._labels[s] for s in every),
            self._value[every],
            self._other.copy(),
        )

    def _new_slot(self, label: Hashable) -> int:
        """A zeroed series slot for `label`, growing the matrices when none is free."""
        if not self._free:
            used = len(self._labels)
            grow = max(used, 16)
            self._last = np.pad(self._last, ((0, grow), (0, 0)))
            self._value = np.pad(self._value, ((0, grow), (0, 0)))
            self._until = np.pad(self._until, (0, grow))
            self._labels += [None] * grow
            self._free = list(range(used + grow - 1, used - 1, -1))
        slot = self._free.pop()
        self._value[slot] = 0
        self._labels[slot] = label
        return slot

    def _expire(self, now: float) -> None:
        """Drop lingering series whose time is up, and the oldest beyond the cap
        (a budget that churns every poll must not grow the page without bound)."""
        until = self._until
        gone = [k for k, s in self._lingering.items() if until[s] <= now]
        excess = len(self._lingering) - len(gone) - self.max_lingering
        if excess > 0:
            order = list(self._lingering)
            alive = sorted((until[self._lingering[k]], n) for n, k in enumerate(order))
            gone += [order[n] for _, n in alive if order[n] not in gone][:excess]
        for k in gone:
            slot = self._lingering.pop(k)
            self._labels[slot] = None
            self._free.append(slot)

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
            self._last = np.pad(self._last, ((0, 0), (0, grow)))
            self._value = np.pad(self._value, ((0, 0), (0, grow)))
        self._index = np.array([self._slot[c] for c in columns], dtype=np.intp)
        self._last_input = columns
        return self._index, fresh
