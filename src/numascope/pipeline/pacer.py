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
from dataclasses import dataclass, field


@dataclass
class Pacer:
    """Ticks every `interval` seconds of `clock`; `wait()` sleeps to the next one."""

    interval: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], object] = time.sleep
    overruns: int = 0
    _next: float | None = field(default=None, repr=False)

    def delay(self) -> float:
        """Seconds to the next tick, counting a late call as an overrun."""
        now = self.clock()
        if self._next is None:
            self._next = now + self.interval
        elif now > self._next:
            # The poll since the last tick took longer than the interval.
            self.overruns += 1
            self._next = now + self.interval
        delay = max(0.0, self._next - now)
        self._next += self.interval
        return delay

    def wait(self) -> None:
        """Sleep until the next tick."""
        self.sleep(self.delay())
