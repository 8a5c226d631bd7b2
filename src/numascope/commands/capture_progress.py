"""Progress of a capture on stderr: a bar on a terminal, plain lines otherwise.

Plain lines keep logs and pipes readable (no carriage returns), and give a
script or a test something to wait for before it signals the capture.
"""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(self, duration: float, stream: TextIO | None = None) -> None:
        self.duration = duration
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._bar_shown = False

    def update(self, elapsed: float, snapshots: int, findings: int) -> None:
        shown = min(elapsed, self.duration)
        counts = f"{snapshots} snapshot{'s' * (snapshots != 1)}, {findings} finding" + (
            "s" * (findings != 1)
        )
        if self.tty:
            done = int(BAR_WIDTH * shown / self.duration) if self.duration else BAR_WIDTH
            bar = "#" * done + "-" * (BAR_WIDTH - done)
            text = f"\rcapturing [{bar}] {shown:5.0f}/{self.duration:.0f} s  {counts}"
            self.stream.write(text)
            self._bar_shown = True
        else:
            self.stream.write(f"numascope capture: {shown:.1f}/{self.duration:.0f} s, {counts}\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A line of its own (ending the bar's line first on a terminal)."""
        if self._bar_shown:
            self.stream.write("\n")
            self._bar_shown = False
        self.stream.write(f"numascope capture: {text}\n")
        self.stream.flush()
