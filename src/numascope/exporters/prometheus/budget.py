"""The label budget: which workloads get series of their own.

comm and cgroup names are chosen by whoever runs a process, so the number of
series must not follow them. At most `limit` workloads are exported by name,
ranked by remote pages; the rest are summed into one `workload="other"` row so
that sums over the metric still equal the host's totals.

Membership is sticky: a workload that has its series keeps it while it exists,
and an unnamed one takes the place of the weakest named one only once it has
PREEMPT_FACTOR times its remote pages (or, at equal remote pages, its pages).
Each promotion moves a workload's count out of "other", which Prometheus sees as
a counter reset there; stickiness keeps those rare instead of one per scrape.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import Locality, Workload, WorkloadKind, sum_localities

PREEMPT_FACTOR = 2.0
OTHER = "other"


@dataclass(frozen=True)
class Selection:
    named: tuple[Workload, ...]
    folded: int  # how many workloads are summed into "other"
    other: Locality  # their running totals, summed


class LabelBudget:
    """Remembers which workloads have series, across scrapes (thread-safe)."""

    def __init__(self) -> None:
        self._named: set[str] = set()
        self._lock = threading.Lock()

    def select(self, workloads: Sequence[Workload], limit: int) -> Selection:
        """Split `workloads` into at most `limit` named ones and the rest.

        A live collector's columns are ranked as columns: only the named rows
        become Workload objects, and the rest are summed as arrays."""
        if isinstance(workloads, WorkloadColumns):
            return self._select_rows(workloads, limit)
        remote = [w.total.remote_pages for w in workloads]
        pages = [w.total.pages for w in workloads]
        keys = [w.key for w in workloads]
        others = [w.kind is WorkloadKind.OTHER or w.key == OTHER for w in workloads]
        named = self._choose(remote, pages, keys, others, limit)
        chosen = set(named)
        folded = [w.total for i, w in enumerate(workloads) if i not in chosen]
        return Selection(tuple(workloads[i] for i in named), len(folded), sum_localities(folded))

    def _select_rows(self, table: WorkloadColumns, limit: int) -> Selection:
        remote, pages = table.split[:, 1], table.split[:, 0] + table.split[:, 1]
        keys = table.keys.tolist()
        kinds = table.kinds.tolist()
        others = [
            kind is WorkloadKind.OTHER or key == OTHER
            for kind, key in zip(kinds, keys, strict=True)
        ]
        named = self._choose(remote.tolist(), pages.tolist(), keys, others, limit)
        folded = np.ones(len(table), dtype=bool)
        folded[named] = False
        return Selection(tuple(table.rows(named)), int(folded.sum()), table.summed(folded))

    def _choose(
        self, remote: list[int], pages: list[int], keys: list[str], others: list[bool], limit: int
    ) -> list[int]:
        """The rows named, best first (rank: remote pages, then pages, then key)."""
        with self._lock:
            # The overflow row and workloads literally keyed "other" always fold.
            ranked = sorted(
                ((remote[i], pages[i], keys[i], i) for i in range(len(keys)) if not others[i]),
                reverse=True,
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
