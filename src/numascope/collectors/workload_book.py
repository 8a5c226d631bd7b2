"""What a set of workloads looked like at the last poll, kept as arrays by slot.

A slot is a small integer the attributor gives each workload for as long as it
exists (a process's slot is freed when its rows are retired). Keeping the last
totals by slot makes a poll's deltas one array subtraction, and keeping the
last object built makes an unmoved workload cost nothing: only workloads whose
totals moved, or whose description changed, get new objects.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import numpy.typing as npt

from numascope.snapshot import Locality, Workload

Counts = npt.NDArray[np.int64]
# Builds slot `slot`'s object (at `position` in this poll's slots) from its
# running totals and what they added since the last poll.
Build = Callable[[int, int, Locality, Locality], Workload]


class WorkloadBook:
    def __init__(self, slot_nodes: list[int]) -> None:
        self.slot_nodes = slot_nodes  # the page node of each node slot
        width = len(slot_nodes)
        self.pages: Counts = np.zeros((0, width), dtype=np.int64)
        self.events: Counts = np.zeros((0, width), dtype=np.int64)
        self.split: Counts = np.zeros((0, 4), dtype=np.int64)
        self.present = np.zeros(0, dtype=bool)  # in the last poll
        # The last object has a zero delta: reusable while nothing moves.
        self.current = np.zeros(0, dtype=bool)
        self.signature = np.zeros(0, dtype=np.int64)  # what the object was built with
        self.objects: list[Workload | None] = []
        self._zeros: dict[tuple[int, ...], Locality] = {}

    def _ensure(self, size: int) -> None:
        have = len(self.present)
        if size <= have:
            return
        extra = max(size, 2 * have, 64) - have

        def more(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return np.concatenate([a, np.zeros((extra, *a.shape[1:]), dtype=a.dtype)])

        self.pages, self.events, self.split = more(self.pages), more(self.events), more(self.split)
        self.present, self.current = more(self.present), more(self.current)
        self.signature = more(self.signature)
        self.objects.extend([None] * extra)

    def _zero(self, total: Locality) -> Locality:
        """A delta of nothing, with the nodes of `total` (immutable, so shared)."""
        nodes = tuple(total.events_by_node)
        found = self._zeros.get(nodes)
        if found is None:
            zeros = dict.fromkeys(nodes, 0)
            found = self._zeros[nodes] = Locality(zeros, dict(zeros))
        return found

    def forget(self, slot: int) -> None:
        """The slot will name another workload: nothing of this one carries over."""
        if slot < len(self.present):
            self.present[slot] = self.current[slot] = False
            self.objects[slot] = None

    def update(
        self,
        slots: npt.NDArray[np.intp],
        pages: Counts,
        events: Counts,
        split: Counts,
        signature: npt.NDArray[np.int64],
        stale: Collection[int],
        build: Build,
    ) -> tuple[Workload, ...]:
        """This poll's object of each of `slots` (distinct), given their totals
        per node slot, their local/remote split, and a signature of what else
        their objects hold: a slot whose signature differs from last time, or
        that is in `stale`, is built again even if its totals did not move."""
        if not len(slots):
            self.present[:] = False
            return ()
        self._ensure(int(slots.max()) + 1)
        was = self.present[slots]
        d_pages = pages - np.where(was[:, None], self.pages[slots], 0)
        d_events = events - np.where(was[:, None], self.events[slots], 0)
        d_split = split - np.where(was[:, None], self.split[slots], 0)
        moved = (d_events != 0).any(axis=1) | (d_pages != 0).any(axis=1) | ~was
        rebuild = moved | ~self.current[slots] | (self.signature[slots] != signature)
        if stale:
            rebuild |= np.isin(slots, np.fromiter(stale, dtype=np.intp, count=len(stale)))
        self.present[:] = False
        self.present[slots] = True
        self.pages[slots], self.events[slots], self.split[slots] = pages, events, split
        self.signature[slots] = signature
        self.current[slots] = ~moved

        slot_list = slots.tolist()
        objects = self.objects
        # Rebuilt though its totals did not move (its delta is zero now, or what
        # `build` describes changed): the totals are the last object's, and the
        # zero delta is shared.
        for i in np.flatnonzero(rebuild & ~moved).tolist():
            old = objects[slot_list[i]]
            if old is not None:
                objects[slot_list[i]] = build(i, slot_list[i], old.total, self._zero(old.total))
                rebuild[i] = False
        again = np.flatnonzero(rebuild)
        # One conversion per column for every object built, not one per row.
        columns = zip(
            again.tolist(),
            events[again].tolist(),
            pages[again].tolist(),
            d_events[again].tolist(),
            d_pages[again].tolist(),
            split[again].tolist(),
            d_split[again].tolist(),
            strict=True,
        )
        nodes, width = self.slot_nodes, len(self.slot_nodes)
        for i, ev, pg, dev, dpg, sp, dsp in columns:
            present = [k for k in range(width) if ev[k]]
            total = _locality(nodes, present, pg, ev, sp)
            delta = _locality(nodes, present, dpg, dev, dsp)
            objects[slot_list[i]] = build(i, slot_list[i], total, delta)
        return tuple([objects[s] for s in slot_list])


def _locality(
    nodes: list[int], present: list[int], pages: list[int], events: list[int], split: list[int]
) -> Locality:
    """One row as a Locality: its counts by node slot (the slots in `present`),
    and its local pages, remote pages, local events and remote events."""
    lp, rp, le, re = split
    return Locality(
        {nodes[k]: pages[k] for k in present},
        {nodes[k]: events[k] for k in present},
        lp,
        rp,
        le,
        re,
    )
