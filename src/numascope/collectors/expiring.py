"""A value read again once it is a given age.

What procfs and sysfs say of things that rarely change (an IRQ's affinity, the
zones' watermarks) is read at most every so often rather than every poll: on a
large host those files are many and long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Expiring(Generic[T]):
    seconds: float
    _kept: tuple[float, T] | None = field(default=None, init=False)  # when it was read, and what

    def get(self, now: float, read: Callable[[], T]) -> T:
        """The value read last, or `read()` if that was `seconds` ago or more."""
        if self._kept is None or now - self._kept[0] >= self.seconds:
            self._kept = (now, read())
        return self._kept[1]
