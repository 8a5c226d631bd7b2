"""A rolling window over recent snapshots, so a rule is judged over the configured length.

One poll interval is often too short to judge (a few pages either way flips a
ratio); the window sums each workload's deltas over the last `seconds`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from numascope.snapshot.columns import WorkloadColumns, counts_width, locality_of
from numascope.snapshot.model import Locality, Snapshot

Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Entry:
    seq: int
    time: float
    interval: float
    slots: npt.NDArray[np.intp]  # the window slot of each workload that moved
    deltas: Counts  # their deltas, laid out as the window's node slots


def _realign(counts: Counts, nodes: list[int], into: list[int]) -> Counts:
    """Counts laid out for node slots `nodes` as they are for `into` (a superset)."""
    w, v = len(nodes), len(into)
    out = np.zeros((len(counts), counts_width(v)), dtype=np.int64)
    at = np.array([into.index(n) for n in nodes], dtype=np.intp)
    out[:, at] = counts[:, :w]
    out[:, v + at] = counts[:, w : 2 * w]
    out[:, 2 * v :] = counts[:, 2 * w :]
    return out


class RollingWindow:
    """The last `seconds` of per-workload deltas (at least the newest snapshot's).

    Each workload that moved in the window has a slot, and its deltas summed
    over the window are a row of one array, kept as the window moves: a
    snapshot's deltas are added when it comes in and taken off when it leaves,
    for all the workloads that moved at once. Telling which workloads have
    enough pages to judge, and how remote their pages were, is then array
    work (`totals`), and a Locality is built only for the workloads judged. A
    slot is freed when no snapshot in the window has its workload moving."""

    def __init__(self, seconds: float) -> None:
        self.length = seconds
        self._reset()

    def _reset(self) -> None:
        self._entries: deque[_Entry] = deque()
        self._nodes: list[int] = []
        self._slot_of: dict[str, int] = {}
        self._keys: list[str | None] = []
        self._free: list[int] = []
        self._sums: Counts = np.zeros((0, counts_width(0)), dtype=np.int64)
        self._holding = np.zeros(0, dtype=np.int64)  # entries in which each slot moved

    @property
    def seconds(self) -> float:
        """How many seconds of data the window holds now."""
        return sum(e.interval for e in self._entries)

    def add(self, snapshot: Snapshot, table: WorkloadColumns | None = None) -> None:
        """Take in a snapshot; adding the newest one again changes nothing.
        `table` is its processes as columns, when the caller has them already."""
        if self._entries:
            last = self._entries[-1]
            if snapshot.seq == last.seq and snapshot.time == last.time:
                return
            if snapshot.seq < last.seq or snapshot.time < last.time:
                # A restarted collector or a different capture: old deltas no longer add up.
                self._reset()
        if table is None:
            table = WorkloadColumns.of(snapshot.processes)
        # A zero delta adds nothing: only the workloads that moved are kept.
        rows = np.flatnonzero(table.moved)
        deltas = self._aligned(np.take(table.delta_counts, rows, axis=0), table.node_ids)
        slots = self._slots(table.keys[rows].tolist())
        self._sums[slots] += deltas
        self._holding[slots] += 1
        self._entries.append(_Entry(snapshot.seq, snapshot.time, snapshot.interval, slots, deltas))
        while len(self._entries) > 1 and self.seconds - self._entries[0].interval >= self.length:
            gone = self._entries.popleft()
            self._sums[gone.slots] -= gone.deltas
            self._holding[gone.slots] -= 1
            for slot in gone.slots[self._holding[gone.slots] == 0].tolist():
                key = self._keys[slot]
                assert key is not None
                del self._slot_of[key]
                self._keys[slot] = None
                self._free.append(slot)

    def _aligned(self, deltas: Counts, nodes: list[int]) -> Counts:
        """`deltas` in the window's node slots, widening the window for new nodes."""
        if nodes == self._nodes:
            return deltas
        wider = sorted({*self._nodes, *nodes})
        if wider != self._nodes:
            self._sums = _realign(self._sums, self._nodes, wider)
            for i, e in enumerate(self._entries):
                self._entries[i] = _Entry(
                    e.seq, e.time, e.interval, e.slots, _realign(e.deltas, self._nodes, wider)
                )
            self._nodes = wider
        return _realign(deltas, nodes, wider)

    def _slots(self, keys: list[str]) -> npt.NDArray[np.intp]:
        get = self._slot_of.get
        slots = [get(k, -1) for k in keys]
        for i, slot in enumerate(slots):
            if slot < 0:
                slots[i] = self._new_slot(keys[i])
        return np.array(slots, dtype=np.intp)

    def _new_slot(self, key: str) -> int:
        if self._free:
            slot = self._free.pop()
            self._sums[slot] = 0
            self._keys[slot] = key
        else:
            slot = len(self._keys)
            self._keys.append(key)
            if slot >= len(self._sums):
                grow = max(64, len(self._sums))
                self._sums = np.concatenate(
                    [self._sums, np.zeros((grow, self._sums.shape[1]), dtype=np.int64)]
                )
                self._holding = np.concatenate([self._holding, np.zeros(grow, dtype=np.int64)])
        self._slot_of[key] = slot
        return slot

    @property
    def held(self) -> int:
        """How many workloads the window holds (those that moved in its span)."""
        return len(self._slot_of)

    def totals(self, keys: list[str]) -> tuple[Counts, Counts]:
        """Pages and remote pages of each workload over the whole window."""
        get = self._slot_of.get
        slots = np.array([get(k, -1) for k in keys], dtype=np.intp)
        if not self._keys:  # nothing moved in the window
            return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=np.int64)
        w = len(self._nodes)
        split = np.take(self._sums[:, 2 * w : 2 * w + 2], np.maximum(slots, 0), axis=0)
        split[slots < 0] = 0
        return split.sum(axis=1), split[:, 1].copy()

    def pages(self, key: str) -> int:
        """The workload's page count over the whole window."""
        return int(self.totals([key])[0][0])

    def locality(self, key: str) -> Locality:
        """The workload's pages over the whole window."""
        slot = self._slot_of.get(key)
        if slot is None:
            return Locality()
        w = len(self._nodes)
        row = self._sums[slot].tolist()
        pages, events, split = row[:w], row[w : 2 * w], row[2 * w :]
        present = [k for k in range(w) if pages[k] or events[k]]
        return locality_of(self._nodes, present, pages, events, split)
