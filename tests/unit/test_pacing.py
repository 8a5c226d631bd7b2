"""Poll pacing: overruns are counted, missed ticks dropped, the wall clock ignored."""

from __future__ import annotations

from numascope.exporters.prometheus.poller import Poller
from numascope.pipeline.pacer import Pacer
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
    def __init__(self, clock: list[float]) -> None:
        self.clock = clock

    def poll(self) -> Snapshot:
        return Snapshot(seq=1, time=0.0, interval=1.0, source="test", host=HostInfo(), nodes=())

    def close(self) -> None:
        pass


def test_the_exporter_poller_reports_overruns_in_health(monkeypatch: object) -> None:
    import time

    ticks = iter([0.0, 5.0, 10.0, 10.1])  # a 5 s poll, then a 0.1 s one
    poller = Poller(Slow([]), 1.0)
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setattr(time, "monotonic", lambda: next(ticks))
    try:
        poller.poll_once()
        assert poller.latest is not None and poller.latest.health.poll_overruns == 1
        poller.poll_once()
        assert poller.latest.health.poll_overruns == 1
    finally:
        mp.undo()
