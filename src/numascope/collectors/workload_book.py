"""What a set of workloads' totals were at the last poll, kept as arrays by slot.

A slot is a small integer the attributor gives each workload for as long as it
exists (a process's slot is freed when its rows are retired). Keeping the last
totals by slot makes a poll's deltas one array subtraction whatever the number
of workloads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Counts = npt.NDArray[np.int64]


class WorkloadBook:
    def __init__(self, width: int) -> None:
        self.pages: Counts = np.zeros((0, width), dtype=np.int64)
        self.events: Counts = np.zeros((0, width), dtype=np.int64)
        self.split: Counts = np.zeros((0, 4), dtype=np.int64)
        self.present = np.zeros(0, dtype=bool)  # in the last poll

    def _ensure(self, size: int) -> None:
        have = len(self.present)
        if size <= have:
            return
        extra = max(size, 2 * have, 64) - have

        def more(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return np.concatenate([a, np.zeros((extra, *a.shape[1:]), dtype=a.dtype)])

        self.pages, self.events, self.split = more(self.pages), more(self.events), more(self.split)
        self.present = more(self.present)

    def forget(self, slot: int) -> None:
        """The slot will name another workload: nothing of this one carries over."""
        if slot < len(self.present):
            self.present[slot] = False

    def deltas(
        self, slots: npt.NDArray[np.intp], pages: Counts, events: Counts, split: Counts
    ) -> tuple[Counts, Counts, Counts]:
        """What the totals of each of `slots` (distinct) added since the last poll:
        all of them for a slot that was not in it. The totals are kept for the next."""
        self._ensure(int(slots.max()) + 1 if len(slots) else 0)
        was = self.present[slots][:, None]
        d_pages = pages - np.where(was, self.pages[slots], 0)
        d_events = events - np.where(was, self.events[slots], 0)
        d_split = split - np.where(was, self.split[slots], 0)
        self.present[:] = False
        self.present[slots] = True
        self.pages[slots], self.events[slots], self.split[slots] = pages, events, split
        return d_pages, d_events, d_split
