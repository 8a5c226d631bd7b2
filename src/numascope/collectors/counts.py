"""Running totals to `Count`s: what a counter holds now and what the interval added.

Kernel counters read here only go up, but a reading can lag the previous one
by a little (counts in flight between two maps), so a total is never allowed
to fall; the delta is what it rose since the previous read of the same key.
A key seen for the first time counts everything from the start as its delta:
the probe was attached at the start, so all of it happened since.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from numascope.snapshot.sections import Count


@dataclass
class CountTracker:
    """Totals per key across polls; `count(key, total)` gives the Count for this poll."""

    _previous: dict[Hashable, float] = field(default_factory=dict, init=False)

    def count(self, key: Hashable, total: float) -> Count:
        before = self._previous.get(key, 0)
        total = max(total, before)
        self._previous[key] = total
        return Count(total=total, delta=total - before)

    def forget(self, key: Hashable) -> None:
        self._previous.pop(key, None)
