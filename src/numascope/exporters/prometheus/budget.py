"""The label budget: which workloads (or call sites, or slab caches) get series.

comm and cgroup names are chosen by whoever runs a process, so the number of
series must not follow them. At most `limit` workloads are exported by name,
ranked by remote pages (then pages, then key); the rest are folded into one
`workload="other"` series (budgeted.py and ledger.py keep the counts).

Membership is sticky: a workload that has its series keeps it while it exists,
and an unnamed one takes the place of the weakest named one only once it has
PREEMPT_FACTOR times its remote pages (or, at equal remote pages, its pages).
Each change of membership starts a series (at 0) and freezes another, so
stickiness keeps them rare instead of one per poll.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np
import numpy.typing as npt

from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import WorkloadKind

PREEMPT_FACTOR = 2.0
OTHER = "other"


class LabelBudget:
    """Remembers which rows have series, from one poll to the next (thread-safe)."""

    def __init__(self) -> None:
        self._named: set[str] = set()
        self._row_of: dict[str, int] = {}  # the row of each named key, last step
        self._lock = threading.Lock()

    def named_rows(self, table: WorkloadColumns, limit: int) -> list[int]:
        """The rows of `table` named at this step, best first; the overflow row
        (kind "other") and rows keyed "other" are always folded.

        Only rows that can be named are ranked in Python: the best few by
        remote pages and pages (found with array operations) and those named
        last time; at most 2 * limit unnamed rows can enter the budget in one
        step, so the rest could not change the choice."""
        keys = table.keys
        remote = table.split[:, 1]
        pages = table.split[:, 0] + remote
        # Element-wise comparisons of object columns: a loop in C, not Python.
        fold = np.asarray(table.kinds == WorkloadKind.OTHER) | np.asarray(keys == OTHER)
        kept = self._rows_named_last(keys)
        want = 3 * limit + 1
        if len(table) > want:
            order = np.lexsort((pages, remote))[::-1]
            order = order[~fold[order]]
            # Rows tied with the last candidate are candidates too (keys break ties).
            candidate = np.zeros(len(table), dtype=bool)
            candidate[order[:want]] = True
            if len(order):
                edge = order[min(want, len(order)) - 1]
                candidate |= (remote == remote[edge]) & (pages == pages[edge])
            rows = np.flatnonzero((candidate | kept) & ~fold)
        else:
            rows = np.flatnonzero(~fold)
        picked = rows.tolist()
        chosen = self.named_among(
            remote[rows].tolist(), pages[rows].tolist(), keys[rows].tolist(), limit
        )
        named = [picked[i] for i in chosen]
        self._row_of = {keys[i]: i for i in named}
        return named

    def _rows_named_last(self, keys: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
        """Rows whose key was named at the last step: looked up at the row each
        had then (a live collector keeps its rows in place), every key read
        only when one of them moved or went."""
        with self._lock:
            known = set(self._named)
        kept = np.zeros(len(keys), dtype=bool)
        for key in list(known):
            row = self._row_of.get(key, -1)
            if 0 <= row < len(keys) and keys[row] == key:
                kept[row] = True
                known.discard(key)
        if known:
            for row, key in enumerate(keys.tolist()):
                if key in known:
                    kept[row] = True
        return kept

    def named_by(self, rank: list[int], keys: list[str], limit: int) -> list[int]:
        """The indices named at this step among rows ranked by one number (call
        sites, slab caches), best first; membership is sticky as for workloads."""
        return self.named_among(rank, rank, keys, limit)

    def named_among(
        self, remote: list[int], pages: list[int], keys: list[str], limit: int
    ) -> list[int]:
        """The indices named among these rows, best first (rank: remote pages,
        then pages, then key), every row a candidate."""
        with self._lock:
            ranked = sorted(
                ((remote[i], pages[i], keys[i], i) for i in range(len(keys))), reverse=True
            )
            order = [i for *_, i in ranked]
            named = [i for i in order if keys[i] in self._named][:limit]
            chosen = set(named)
            unnamed = deque(i for i in order if i not in chosen)
            while len(named) < limit and unnamed:
                promoted = unnamed.popleft()
                named.append(promoted)
                chosen.add(promoted)

            def by_rank(i: int) -> tuple[int, int, str]:
                return (remote[i], pages[i], keys[i])

            named.sort(key=by_rank, reverse=True)
            while (
                unnamed
                and named
                and _outranks(
                    remote[unnamed[0]], pages[unnamed[0]], remote[named[-1]], pages[named[-1]]
                )
            ):
                challenger, weakest = unnamed.popleft(), named.pop()
                chosen.discard(weakest)
                chosen.add(challenger)
                named.append(challenger)
                named.sort(key=by_rank, reverse=True)
            self._named = {keys[i] for i in named}
            return named


def _outranks(remote: int, pages: int, weakest_remote: int, weakest_pages: int) -> bool:
    if remote > weakest_remote:
        return remote >= PREEMPT_FACTOR * max(weakest_remote, 1)
    # Equal remote pages (all zero on a one-node host): fall back to pages, or
    # the first workloads seen would hold every slot forever.
    return remote == weakest_remote and pages >= PREEMPT_FACTOR * max(weakest_pages, 1)
