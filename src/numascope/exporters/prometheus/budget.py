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
from collections.abc import Sequence
from dataclasses import dataclass

from numascope.snapshot import Locality, Workload, WorkloadKind, sum_localities

PREEMPT_FACTOR = 2.0
OTHER = "other"


def rank(workload: Workload) -> tuple[int, int, str]:
    """Sort key, largest first: remote pages, then pages, then key (for stable ties)."""
    return (workload.total.remote_pages, workload.total.pages, workload.key)


@dataclass(frozen=True)
class Selection:
    named: tuple[Workload, ...]
    folded: tuple[Workload, ...]

    def other(self) -> Locality:
        """The running totals of every folded workload, summed."""
        return sum_localities(w.total for w in self.folded)


class LabelBudget:
    """Remembers which workloads have series, across scrapes (thread-safe)."""

    def __init__(self) -> None:
        self._named: set[str] = set()
        self._lock = threading.Lock()

    def select(self, workloads: Sequence[Workload], limit: int) -> Selection:
        """Split `workloads` into at most `limit` named ones and the rest."""
        with self._lock:
            present = {w.key: w for w in workloads}
            # The overflow row and workloads literally keyed "other" always fold.
            candidates = [
                w for w in workloads if w.kind is not WorkloadKind.OTHER and w.key != OTHER
            ]
            candidates.sort(key=rank, reverse=True)
            named = [w for w in candidates if w.key in self._named and w.key in present]
            named = named[:limit]
            keys = {w.key for w in named}
            unnamed = [w for w in candidates if w.key not in keys]
            while len(named) < limit and unnamed:
                promoted = unnamed.pop(0)
                named.append(promoted)
                keys.add(promoted.key)
            named.sort(key=rank, reverse=True)
            while unnamed and named and self._outranks(unnamed[0], named[-1]):
                challenger, weakest = unnamed.pop(0), named.pop()
                keys.discard(weakest.key)
                keys.add(challenger.key)
                named.append(challenger)
                named.sort(key=rank, reverse=True)
            self._named = keys
            folded = tuple(w for w in workloads if w.key not in keys)
            return Selection(tuple(named), folded)

    @staticmethod
    def _outranks(challenger: Workload, weakest: Workload) -> bool:
        c, w = challenger.total, weakest.total
        if c.remote_pages > w.remote_pages:
            return c.remote_pages >= PREEMPT_FACTOR * max(w.remote_pages, 1)
        # Equal remote pages (all zero on a one-node host): fall back to pages, or
        # the first workloads seen would hold every slot forever.
        return c.remote_pages == w.remote_pages and c.pages >= PREEMPT_FACTOR * max(w.pages, 1)
