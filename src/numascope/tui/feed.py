"""From a snapshot source to frames the screen can show, off the UI thread.

`Feed` is the abstract poller (start, pause, stop); `ThreadFeed` runs the
pipeline's paced poller on a worker thread and posts each result as a message,
so a poll that blocks on the kernel never blocks a key press. The policy step
runs on the same thread: reading every process's numa_maps is kernel work too.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable

from numascope.pipeline.poller import PacedPoller
from numascope.tui.frame import frame_of
from numascope.tui.messages import FeedFailed, FrameReady


class Feed(abc.ABC):
    """A producer of frames for the app; the app only starts, pauses and stops it."""

    @abc.abstractmethod
    def start(self, post: Callable[[FrameReady | FeedFailed], object]) -> None: ...

    @abc.abstractmethod
    def set_paused(self, paused: bool) -> None: ...

    @abc.abstractmethod
    def set_interval(self, seconds: float) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def refresh(self) -> None:  # noqa: B027 (a feed that never sleeps has nothing to do)
        """Poll again now, even a finished source (a policy reload judges it again)."""

    @property
    @abc.abstractmethod
    def finished(self) -> bool:
        """True when the source has nothing new to give (the end of a replay)."""


class ThreadFeed(Feed):
    """Runs `polls` on a daemon thread: the first poll at once, then at its pacer's ticks.

    Once the source is finished (the end of a replay) the thread sleeps until it
    is woken (`refresh`, resume, stop): polling the same last snapshot again would
    only cost CPU while nothing changes.
    """

    def __init__(self, polls: PacedPoller) -> None:
        self.polls = polls
        self.polls.pacer.start_now()
        self._stop = threading.Event()
        self._running = threading.Event()  # set: polling; clear: paused
        self._running.set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return self.polls.finished

    def start(self, post: Callable[[FrameReady | FeedFailed], object]) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(post,), name="numascope-feed", daemon=True
        )
        self._thread.start()

    def _run(self, post: Callable[[FrameReady | FeedFailed], object]) -> None:
        while not self._stop.is_set():
            self._running.wait()
            if self._stop.is_set():
                break
            try:
                frame = frame_of(self.polls.poll(), self.polls.step)
            except Exception as exc:  # a failed poll is shown on screen, not a crash
                post(FeedFailed(f"{type(exc).__name__}: {exc}"))
            else:
                post(FrameReady(frame))
            # Sleep to the next tick; `_wake` cuts it short on stop, resume or refresh
            # (the grid starts again from there), and is the only way on from a
            # finished source.
            if self._wake.wait(None if self.finished else self.polls.pacer.delay()):
                self.polls.pacer.restart()
            self._wake.clear()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._running.clear()
        else:
            self._running.set()
            self._wake.set()

    def set_interval(self, seconds: float) -> None:
        self.polls.pacer.interval = seconds

    def refresh(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop polling and close the source (waits for a poll under way to end)."""
        self._stop.set()
        self._running.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.polls.close()
