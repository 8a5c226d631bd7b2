"""A rolling window over recent snapshots, so a rule is judged over the configured length.

One poll interval is often too short to judge (a few pages either way flips a
ratio); the window sums each workload's deltas over the last `seconds`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from numascope.snapshot import Locality, Snapshot, Workload, sum_localities
from numascope.workload_columns import WorkloadColumns


@dataclass(frozen=True)
class _Entry:
    seq: int
    time: float
    interval: float
    rows: Sequence[Workload]  # the snapshot's processes
    moved: Mapping[str, int]  # key -> row, of the workloads whose delta is not zero
    pages: list[int]  # their delta pages, in `moved`'s order


def _moved(d: Locality) -> bool:
    return bool(d.local_pages or d.remote_pages or d.local_events or d.remote_events)


def _moved_rows(processes: Sequence[Workload]) -> tuple[dict[str, int], list[int]]:
    """Key -> row and delta pages of the workloads that moved (columns when the
    collector gave them: no Workload object is built)."""
    if isinstance(processes, WorkloadColumns):
        rows = np.flatnonzero(processes.moved)
        keys, pages = processes.keys[rows].tolist(), processes.delta_page_counts[rows].tolist()
        return dict(zip(keys, rows.tolist(), strict=True)), pages
    moved = [(i, w) for i, w in enumerate(processes) if _moved(w.delta)]
    return {w.key: i for i, w in moved}, [w.delta.pages for _, w in moved]


class RollingWindow:
    """The last `seconds` of per-workload deltas (at least the newest snapshot's).

    Each workload's page count over the window is kept as the window moves (its
    delta added when a snapshot comes in, taken off when that snapshot leaves), so
    telling which workloads have enough pages to judge costs work for those that
    moved, not for every workload times the snapshots in the window; the whole
    Locality is summed only for the workloads judged."""

    def __init__(self, seconds: float) -> None:
        self.length = seconds
        self._entries: deque[_Entry] = deque()
        self._pages: dict[str, int] = {}

    @property
    def seconds(self) -> float:
        """How many seconds of data the window holds now."""
        return sum(e.interval for e in self._entries)

    def add(self, snapshot: Snapshot) -> None:
        """Take in a snapshot; adding the newest one again changes nothing."""
        if self._entries:
            last = self._entries[-1]
            if snapshot.seq == last.seq and snapshot.time == last.time:
                return
            if snapshot.seq < last.seq or snapshot.time < last.time:
                # A restarted collector or a different capture: old deltas no longer add up.
                self._entries.clear()
                self._pages.clear()
        # A zero delta adds nothing: only the workloads that moved are kept.
        moved, moved_pages = _moved_rows(snapshot.processes)
        pages = self._pages
        for key, n in zip(moved, moved_pages, strict=True):
            pages[key] = pages.get(key, 0) + n
        entry = _Entry(
            snapshot.seq, snapshot.time, snapshot.interval, snapshot.processes, moved, moved_pages
        )
        self._entries.append(entry)
        while len(self._entries) > 1 and self.seconds - self._entries[0].interval >= self.length:
            gone = self._entries.popleft()
            for key, n in zip(gone.moved, gone.pages, strict=True):
                left = pages[key] - n
                if left:
                    pages[key] = left
                else:
                    del pages[key]

    def pages(self, key: str) -> int:
        """The workload's page count over the whole window (cheaper than `locality`)."""
        return self._pages.get(key, 0)

    def locality(self, key: str) -> Locality:
        """The workload's pages over the whole window."""
        return sum_localities(e.rows[e.moved[key]].delta for e in self._entries if key in e.moved)
