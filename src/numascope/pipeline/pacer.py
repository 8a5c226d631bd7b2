"""Poll pacing on the monotonic clock: late polls are counted, never bunched.

A wall-clock step (NTP, a suspended VM, `date -s`) moves `time.time()` but not
`time.monotonic()`, so intervals measured here are never negative or huge
because of it. A poll that overruns its interval is counted, and the next one
starts a whole interval after it ended: missed ticks are dropped rather than
replayed back to back, so a slow host is not polled harder.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Ticks every `interval` seconds of `clock`; `wait()` sleeps to the next one.

    The first tick is an interval after the first call, or at once after
    `start_now()`. `interval` may change between ticks (the TUI's +/- keys).
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.overruns = 0
        self._next: float | None = None
        self._at_once = False
        self._counted = False  # the late poll was counted when it ended

    def start_now(self) -> None:
        """Make the next tick now (a view that shows data at once, then paces)."""
        self._at_once = True

    def restart(self) -> None:
        """Forget the grid (after a pause): the next tick is an interval away, not late."""
        self._next = None
        self._at_once = self._counted = False

    def delay(self) -> float:
        """Seconds to the next tick, counting a late call as an overrun."""
        now = self.clock()
        if self._at_once:
            self._at_once = self._counted = False
            self._next = now + self.interval
            return 0.0
        if self._next is None:
            self._next = now + self.interval
        elif now > self._next:
            # The poll since the last tick took longer than the interval.
            if not self._counted:
                self.overruns += 1
            self._next = now + self.interval
        self._counted = False
        delay = max(0.0, self._next - now)
        self._next += self.interval
        return delay

    def polled(self, started: float) -> None:
        """Count a poll begun at `started` (by `clock`) that ran past its interval,
        as soon as it ends: the snapshot it made can already say so."""
        if not self._counted and self.clock() - started > self.interval:
            self.overruns += 1
            self._counted = True

    def wait(self) -> None:
        """Sleep until the next tick."""
        self.sleep(self.delay())
