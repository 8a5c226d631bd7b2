"""Poll pacing: overruns are counted, missed ticks dropped, the wall clock ignored."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from numascope.capture.file import CaptureWriter
from numascope.commands.capture import CaptureRun
from numascope.commands.capture_progress import Progress
from numascope.config import Config, PolicyHolder
from numascope.exporters.prometheus.poller import Poller
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import HostInfo, Snapshot


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds
        self.starts.append(self.now)


def test_polls_keep_their_grid_while_on_time() -> None:
    clock = Clock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.wait()
        clock.now += 0.25  # the poll
    assert clock.starts == [1001.0, 1002.0, 1003.0] and pacer.overruns == 0


def test_an_overrun_is_counted_and_the_next_polls_are_not_bunched() -> None:
    clock = Clock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait()  # starts at 1001
    clock.now += 3.5  # a poll that took three and a half intervals
    pacer.wait()
    clock.now += 0.1
    pacer.wait()
    assert pacer.overruns == 1
    gaps = [b - a for a, b in zip(clock.starts, clock.starts[1:], strict=False)]
    assert all(g >= 1.0 for g in gaps), f"polls bunched after an overrun: {clock.starts}"


class Slow:
    """A source whose polls take `seconds[i]` of `clock` each."""

    def __init__(self, clock: Clock, seconds: list[float]) -> None:
        self.clock = clock
        self.seconds = seconds
        self.started: list[float] = []

    def poll(self) -> Snapshot:
        self.started.append(self.clock.now)
        self.clock.now += self.seconds.pop(0) if self.seconds else 0.0
        return Snapshot(seq=1, time=0.0, interval=1.0, source="test", host=HostInfo(), nodes=())

    def close(self) -> None:
        pass


def test_the_exporter_poller_reports_overruns_in_health() -> None:
    clock = Clock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    poller = Poller(PacedPoller(Slow(clock, [5.0, 0.1]), pacer))  # a 5 s poll, then a 0.1 s one
    poller.poll_once()
    assert poller.latest is not None and poller.latest.health.poll_overruns == 1
    poller.poll_once()
    assert poller.latest.health.poll_overruns == 1


class Stop:
    """CaptureRun's stop signal on the fake clock: waiting advances it, never stops."""

    name = None

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def wait(self, seconds: float) -> bool:
        self.clock.sleep(seconds)
        return False


def test_a_slow_poll_in_capture_is_an_overrun_not_followed_by_a_burst(tmp_path: Path) -> None:
    clock = Clock()
    args = argparse.Namespace(
        duration=8.0, interval=1.0, output=tmp_path / "c.capture.gz", redact=False, proc="/proc"
    )
    run = CaptureRun(
        args, PolicyStep(PolicyHolder(Config()), proc=None), CaptureWriter(args.output)
    )
    run.stop = Stop(clock)  # type: ignore[assignment]
    run.progress = Progress(args.duration, stream=io.StringIO())
    source = Slow(clock, [0.1, 3.5])  # the second poll takes three and a half intervals
    run.loop(PacedPoller(source, Pacer(1.0, clock=clock, sleep=clock.sleep)))
    assert run.last is not None and run.last.health.poll_overruns == 1
    run.writer.abort()
    # The ticks the slow poll missed are dropped: the next poll is a whole interval
    # after it ended, and only the last, at the deadline, may come sooner.
    assert source.started == [1001.0, 1002.0, 1006.5, 1007.5, 1008.0]
    gaps = [b - a for a, b in zip(source.started, source.started[1:-1], strict=False)]
    assert all(g >= 1.0 for g in gaps), f"polls bunched after a slow one: {source.started}"
