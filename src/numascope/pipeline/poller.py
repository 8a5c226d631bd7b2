"""The one paced poller: a source, the policy step, a pacer.

`top`, `export`, `capture` and `snapshot` each run their loop around one of
these, so they agree on what a poll is: the source polled, the snapshot judged,
and the pacer's overruns so far written into its health. Waiting is left to
the caller (a thread's event, a signal pipe, a plain sleep), each through the
same `Pacer`, so none catches up with back-to-back polls after a slow one.
"""

from __future__ import annotations

import dataclasses

from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import Judged, PolicyStep
from numascope.snapshot.model import Snapshot
from numascope.snapshot.source import SnapshotSource, is_finished


class PacedPoller:
    """Polls `source` through `step` (none: as it comes) on `pacer`."""

    def __init__(
        self, source: SnapshotSource, pacer: Pacer, step: PolicyStep | None = None
    ) -> None:
        self.source = source
        self.pacer = pacer
        self.step = step

    @property
    def finished(self) -> bool:
        """True when the source has nothing new to give (the end of a replay)."""
        return is_finished(self.source)

    def poll(self) -> Judged:
        """One poll now: judged, with the overruns so far in its health."""
        started = self.pacer.clock()
        snapshot = self.source.poll()
        judged = self.step.apply(snapshot) if self.step is not None else Judged(snapshot)
        self.pacer.polled(started)  # judging is part of the poll's time
        if self.pacer.overruns:
            return dataclasses.replace(
                judged, snapshot=with_overruns(judged.snapshot, self.pacer.overruns)
            )
        return judged

    def next(self) -> Judged:
        """Sleep to the pacer's next tick, then poll."""
        self.pacer.wait()
        return self.poll()

    def close(self) -> None:
        """Close the source."""
        self.source.close()


def with_overruns(snapshot: Snapshot, overruns: int) -> Snapshot:
    """`snapshot` with `overruns` as its health's count of late polls."""
    health = dataclasses.replace(snapshot.health, poll_overruns=overruns)
    return dataclasses.replace(snapshot, health=health)
