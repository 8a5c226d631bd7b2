"""A rolling window over recent snapshots, so a rule is judged over the configured length.

One poll interval is often too short to judge (a few pages either way flips a
ratio); the window sums each workload's deltas over the last `seconds`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from numascope.snapshot import Locality, Snapshot


@dataclass(frozen=True)
class _Entry:
    seq: int
    time: float
    interval: float
    deltas: Mapping[str, Locality]


def _add_counts(into: dict[int, int], counts: Mapping[int, int]) -> None:
    for node, n in counts.items():
        into[node] = into.get(node, 0) + n


def sum_localities(parts: Iterable[Locality]) -> Locality:
    """One Locality holding the sum of several."""
    pages: dict[int, int] = {}
    events: dict[int, int] = {}
    local_pages = remote_pages = local_events = remote_events = 0
    for part in parts:
        _add_counts(pages, part.pages_by_node)
        _add_counts(events, part.events_by_node)
        local_pages += part.local_pages
        remote_pages += part.remote_pages
        local_events += part.local_events
        remote_events += part.remote_events
    return Locality(pages, events, local_pages, remote_pages, local_events, remote_events)


class RollingWindow:
    """The last `seconds` of per-workload deltas (at least the newest snapshot's)."""

    def __init__(self, seconds: float) -> None:
        self.length = seconds
        self._entries: deque[_Entry] = deque()

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
        deltas = {w.key: w.delta for w in snapshot.processes}
        self._entries.append(_Entry(snapshot.seq, snapshot.time, snapshot.interval, deltas))
        while len(self._entries) > 1 and self.seconds - self._entries[0].interval >= self.length:
            self._entries.popleft()

    def locality(self, key: str) -> Locality:
        """The workload's pages over the whole window."""
        return sum_localities(e.deltas[key] for e in self._entries if key in e.deltas)
