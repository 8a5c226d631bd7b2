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

A hangup also sends SIGCONT after SIGHUP, to the session leader's process group
(top itself when it runs straight in a pane or under `ssh -t`). Textual takes
SIGCONT as "resumed from ^Z" and enters application mode again on the dead tty:
its new writer thread dies on the first write (EIO), and the shutdown then waits
for that thread forever. So SIGCONT reaches Textual only while the terminal is there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

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
        self._sigcont_before: Any = None  # the handler SIGCONT had (Textual's), if taken

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take over SIGHUP on `loop`, and screen SIGCONT (call from the loop's thread)."""
        self._loop = loop
        loop.add_signal_handler(signal.SIGHUP, self.sighup)
        self._sigcont_before = signal.signal(signal.SIGCONT, self.sigcont)

    def remove(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_signal_handler(signal.SIGHUP)
        if self._sigcont_before is not None:
            signal.signal(signal.SIGCONT, self._sigcont_before)
            self._sigcont_before = None
        self._loop = None

    def sighup(self) -> None:
        if self.check():
            self.on_reload()

    def sigcont(self, signum: int, frame: FrameType | None) -> None:
        """Pass SIGCONT on while the terminal is there; after a hangup, end instead."""
        if terminal_alive(self.fd):
            if callable(self._sigcont_before):
                self._sigcont_before(signum, frame)
        elif self._loop is not None and not self._loop.is_closed():
            # A signal handler interrupts the loop's own code: act from the loop.
            self._loop.call_soon_threadsafe(self.check)

    def check(self) -> bool:
        """True while the terminal is there; on the first check that finds it gone, hang up."""
        if terminal_alive(self.fd):
            return True
        if not self.hung_up:
            self.hung_up = True
            self.on_hangup()
        return False
