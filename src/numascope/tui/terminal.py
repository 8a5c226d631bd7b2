"""Losing the terminal ends `numascope top`; SIGHUP with the terminal still there reloads.

When a terminal goes away (a killed tmux pane, a dropped ssh session) the kernel
hangs up its tty: reads return end-of-file at once, and SIGHUP goes to the
session leader, which passes it on to its jobs. Textual ends on neither; its
input thread spins on the end-of-file, and a live top would keep its probes
attached with nobody watching. SIGHUP is also the usual "reload your config"
signal, so the rule is: on SIGHUP, reload while our terminal still answers,
otherwise exit. A hung-up tty answers every terminal request with EIO, so
`isatty` tells the two apart; a slow check catches a hangup whose SIGHUP came
before the tty was hung up, or never came.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable

# Seconds between checks that the terminal is still there (one ioctl each).
CHECK_SECONDS = 2.0
# The exit status after a hangup, as a shell reports a process killed by SIGHUP.
HANGUP_STATUS = 128 + signal.SIGHUP


def terminal_alive(fd: int) -> bool:
    """Whether `fd` is a terminal that has not been hung up."""
    return os.isatty(fd)


def stdin_fd() -> int | None:
    """The file descriptor Textual reads keys from, or None without one."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        return stream.fileno()
    except (OSError, ValueError):
        return None


class TerminalWatch:
    """Calls `on_hangup` when the terminal on `fd` goes away, `on_reload` on SIGHUP otherwise."""

    def __init__(
        self, fd: int, on_hangup: Callable[[], object], on_reload: Callable[[], object]
    ) -> None:
        self.fd = fd
        self.on_hangup = on_hangup
        self.on_reload = on_reload
        self.hung_up = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take over SIGHUP on `loop` (call from the loop's thread)."""
        self._loop = loop
        loop.add_signal_handler(signal.SIGHUP, self.sighup)

    def remove(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_signal_handler(signal.SIGHUP)
        self._loop = None

    def sighup(self) -> None:
        if self.check():
            self.on_reload()

    def check(self) -> bool:
        """True while the terminal is there; on the first check that finds it gone, hang up."""
        if terminal_alive(self.fd):
            return True
        if not self.hung_up:
            self.hung_up = True
            self.on_hangup()
        return False
