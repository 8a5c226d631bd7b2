"""Per probe family: how long its latest read took, whether it worked, how often it broke.

node_exporter reports each of its collectors this way
(`node_scrape_collector_duration_seconds` / `_success`): when one family of
probes slows down or stops, the exporter says which, rather than one total.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from numascope.snapshot.model import FamilyHealth

T = TypeVar("T")


@dataclass
class FamilyLedger:
    """The account a live source keeps of its probe families, poll by poll."""

    clock: Callable[[], float] = time.monotonic
    _seconds: dict[str, float] = field(default_factory=dict)
    _ok: dict[str, bool] = field(default_factory=dict)
    _failures: dict[str, int] = field(default_factory=dict)

    def expect(self, names: Iterable[str]) -> None:
        """Families asked for: each is reported from now on, as not working until it reads."""
        for name in names:
            self._seconds.setdefault(name, 0.0)
            self._ok.setdefault(name, False)
            self._failures.setdefault(name, 0)

    def begin_poll(self) -> None:
        """A new poll: a family not read in it reports 0 seconds and not working."""
        for name in self._seconds:
            self._seconds[name] = 0.0
            self._ok[name] = False

    def timed(self, name: str, read: Callable[[], T]) -> T:
        """Run one family's read, noting its duration and whether it raised."""
        started = self.clock()
        try:
            result = read()
        except Exception:
            self._note(name, self.clock() - started, ok=False)
            raise
        self._note(name, self.clock() - started, ok=True)
        return result

    def fail(self, name: str) -> None:
        """The family (or one of its programs) stopped working after it attached."""
        self.expect((name,))
        self._failures[name] += 1
        self._ok[name] = False

    def report(self, broken: Collection[str] = ()) -> dict[str, FamilyHealth]:
        """Every family's health at this poll; those in `broken` (a program of theirs
        went away) count as not working even though their maps still read."""
        return {
            name: FamilyHealth(
                poll_seconds=self._seconds[name],
                ok=self._ok[name] and name not in broken,
                failures=self._failures[name],
            )
            for name in sorted(self._seconds)
        }

    def _note(self, name: str, seconds: float, ok: bool) -> None:
        self.expect((name,))
        self._seconds[name] = seconds
        self._ok[name] = ok
