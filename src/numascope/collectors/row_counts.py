"""Owner rows' counts as the snapshot's workload columns lay them out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from numascope.snapshot.columns import counts_width

Counts = npt.NDArray[np.int64]


def row_counts(
    pages: Counts,
    events: Counts,
    cpu: npt.NDArray[np.int64],
    slot_nodes: Sequence[int],
    orders: int,
) -> tuple[Counts, Counts]:
    """Each row's counts as WorkloadColumns lays them out (pages and events
    by node slot, then local pages, remote pages, local and remote events),
    and the pages of all rows by counter slot.

    A slot's pages count only once it has an event, as in the kernel's own
    counters. Built a column at a time, transposed: numpy's operations on a
    few columns of many rows (reductions along the short axis, strided 2-D
    views) cost ten to twenty times more at 10,000 rows."""
    m, w = len(cpu), len(slot_nodes)
    out = np.empty((counts_width(w), m), dtype=np.int64)
    slot_pages = np.zeros(w * orders, dtype=np.int64)
    counted = np.empty(m, dtype=np.int64)
    for slot in range(w):
        for order in range(orders):
            at = slot * orders + order
            slot_events = events.T[at]
            np.multiply(pages.T[at], slot_events > 0, out=counted)
            slot_pages[at] = counted.sum()
            if order:
                out[slot] += counted
                out[w + slot] += slot_events
            else:
                np.copyto(out[slot], counted)
                np.copyto(out[w + slot], slot_events)
    for first, split in ((0, 2 * w), (w, 2 * w + 2)):
        # Local: the slot of the requesting CPU's node; remote: the rest.
        local, remote = out[split], out[split + 1]
        local[:] = 0
        remote[:] = 0
        for slot, node in enumerate(slot_nodes):
            remote += out[first + slot]
            if node >= 0:
                np.add(local, out[first + slot], out=local, where=cpu == node)
        remote -= local
    return np.ascontiguousarray(out.T), slot_pages
