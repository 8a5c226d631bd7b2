"""SIGHUP reloads while the terminal is there and ends top once it is gone; a finished
replay is not polled again until something asks."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

from numascope.capture.replay import ReplaySource
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Snapshot
from numascope.tui.feed import ThreadFeed
from numascope.tui.messages import FeedFailed, FrameReady
from numascope.tui.terminal import TerminalWatch, terminal_alive
from tests.fixtures import streams


class Calls:
    def __init__(self) -> None:
        self.hangups = 0
        self.reloads = 0

    def hangup(self) -> None:
        self.hangups += 1

    def reload(self) -> None:
        self.reloads += 1


def test_sighup_reloads_while_the_terminal_is_there_and_hangs_up_after() -> None:
    controller, terminal = os.openpty()
    calls = Calls()
    watch = TerminalWatch(terminal, on_hangup=calls.hangup, on_reload=calls.reload)
    try:
        watch.sighup()
        assert (calls.reloads, calls.hangups) == (1, 0)
        assert watch.check()
        os.close(controller)  # the terminal emulator goes away: the kernel hangs up the tty
        assert not terminal_alive(terminal)
        watch.sighup()
        assert not watch.check()
        assert (calls.reloads, calls.hangups) == (1, 1)  # one hangup, and no reload after it
    finally:
        os.close(terminal)


class CountingSource:
    def __init__(self, source: ReplaySource) -> None:
        self.source = source
        self.polls = 0

    @property
    def finished(self) -> bool:
        return self.source.finished

    def poll(self) -> Snapshot:
        self.polls += 1
        return self.source.poll()

    def close(self) -> None:
        self.source.close()


def test_a_finished_replay_is_not_polled_again_until_refreshed(tmp_path: Path) -> None:
    snapshots = streams.remote_heavy(3)
    source = CountingSource(
        ReplaySource.from_file(streams.write_stream(tmp_path / "s.jsonl", snapshots))
    )
    feed = ThreadFeed(PacedPoller(source, Pacer(0.001)))
    frames: list[FrameReady | FeedFailed] = []
    arrived = threading.Semaphore(0)

    def post(message: FrameReady | FeedFailed) -> None:
        frames.append(message)
        arrived.release()

    feed.start(post)
    try:
        for _ in snapshots:
            assert arrived.acquire(timeout=30)
        time.sleep(0.3)  # hundreds of intervals: a polling feed would poll again meanwhile
        assert source.polls == len(snapshots)
        feed.refresh()
        assert arrived.acquire(timeout=30)
        assert source.polls == len(snapshots) + 1
    finally:
        feed.stop()


def test_sigcont_reaches_textual_only_while_the_terminal_is_there() -> None:
    """A hangup sends SIGCONT too; passed on, Textual would resume its screen on the dead
    tty and its shutdown would wait forever for a writer thread that died on EIO."""
    controller, terminal = os.openpty()
    calls = Calls()
    watch = TerminalWatch(terminal, on_hangup=calls.hangup, on_reload=calls.reload)
    resumed: list[int] = []
    loop = asyncio.new_event_loop()
    before = signal.signal(signal.SIGCONT, lambda signum, frame: resumed.append(signum))
    try:
        watch.install(loop)
        watch.sigcont(signal.SIGCONT, None)
        assert resumed == [signal.SIGCONT] and calls.hangups == 0  # a real ^Z and fg
        os.close(controller)
        watch.sigcont(signal.SIGCONT, None)
        loop.run_until_complete(asyncio.sleep(0))  # the hangup is acted on from the loop
        assert resumed == [signal.SIGCONT]  # not passed on after the hangup
        assert calls.hangups == 1
        watch.remove()
        assert signal.getsignal(signal.SIGCONT) is not watch.sigcont  # Textual's is back
    finally:
        signal.signal(signal.SIGCONT, before)
        loop.close()
        os.close(terminal)
