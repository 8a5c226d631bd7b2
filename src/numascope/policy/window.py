"""A rolling window over recent snapshots, so a rule is judged over the configured length.

One poll interval is often too short to judge (a few pages either way flips a
ratio); the window sums each workload's deltas over the last `seconds`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from numascope.snapshot import Locality, Snapshot


@dataclass(frozen=True)
class _Entry:
    seq: int
    time: float
    interval: float
    deltas: Mapping[str, Locality]


class _Sum:
    """A workload's running sum over the window, changed in place."""

    __slots__ = ("events", "local_events", "local_pages", "pages", "remote_events", "remote_pages")

    def __init__(self) -> None:
        self.pages: dict[int, int] = {}
        self.events: dict[int, int] = {}
        self.local_pages = self.remote_pages = self.local_events = self.remote_events = 0

    def add(self, d: Locality, sign: int) -> None:
        for into, counts in ((self.pages, d.pages_by_node), (self.events, d.events_by_node)):
            for node, n in counts.items():
                left = into.get(node, 0) + sign * n
                if left or sign > 0:
                    into[node] = left
                else:  # what left the window named this node last
                    into.pop(node, None)
        self.local_pages += sign * d.local_pages
        self.remote_pages += sign * d.remote_pages
        self.local_events += sign * d.local_events
        self.remote_events += sign * d.remote_events

    def empty(self) -> bool:
        return not (
            self.local_pages or self.remote_pages or self.local_events or self.remote_events
        )

    def locality(self) -> Locality:
        return Locality(
            dict(self.pages),
            dict(self.events),
            self.local_pages,
            self.remote_pages,
            self.local_events,
            self.remote_events,
        )


def _moved(d: Locality) -> bool:
    return bool(d.local_pages or d.remote_pages or d.local_events or d.remote_events)


_NOTHING = Locality()


class RollingWindow:
    """The last `seconds` of per-workload deltas (at least the newest snapshot's).

    Each workload's sum is kept as the window moves (its delta added when a
    snapshot comes in, taken off when that snapshot leaves), so a poll costs
    work for the workloads that moved, not for every workload times the
    snapshots in the window."""

    def __init__(self, seconds: float) -> None:
        self.length = seconds
        self._entries: deque[_Entry] = deque()
        self._sums: dict[str, _Sum] = {}

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
                self._sums.clear()
        # A zero delta adds nothing: only the workloads that moved are kept.
        deltas = {w.key: w.delta for w in snapshot.processes if _moved(w.delta)}
        sums = self._sums
        for key, d in deltas.items():
            found = sums.get(key)
            if found is None:
                found = sums[key] = _Sum()
            found.add(d, 1)
        self._entries.append(_Entry(snapshot.seq, snapshot.time, snapshot.interval, deltas))
        while len(self._entries) > 1 and self.seconds - self._entries[0].interval >= self.length:
            for key, d in self._entries.popleft().deltas.items():
                found = sums[key]
                found.add(d, -1)
                if found.empty():
                    del sums[key]

    def pages(self, key: str) -> int:
        """The workload's page count over the whole window (cheaper than `locality`)."""
        found = self._sums.get(key)
        return found.local_pages + found.remote_pages if found is not None else 0

    def locality(self, key: str) -> Locality:
        """The workload's pages over the whole window."""
        found = self._sums.get(key)
        return found.locality() if found is not None else _NOTHING
