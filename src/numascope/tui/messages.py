"""Messages the feed thread posts to the app (plain dataclasses, as Textual allows)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from numascope.tui.frame import Frame


@dataclass
class FrameReady(Message):
    """A new snapshot, judged, ready to show."""

    frame: Frame


@dataclass
class FeedFailed(Message):
    """A poll raised; the screen keeps the last good frame and says why."""

    error: str
