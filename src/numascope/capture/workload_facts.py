"""Which workloads a capture describes in full, read while they are still alive.

A short-lived process can be the whole story (a `dd` that allocates 1 GiB
and exits), so its procfs facts are read when it first ranks among the top,
not at the end when it is gone; the end only refreshes those still running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from numascope.capture.facts import read_process_facts
from numascope.capture.model import ProcessFacts
from numascope.snapshot.model import Snapshot, WorkloadKind

TOP_WORKLOADS = 10


def ranked_pids(snapshot: Snapshot, limit: int = TOP_WORKLOADS) -> list[int]:
    """Processes named by a finding first, then the rest by pages since the start."""
    flagged = [f.pid for f in snapshot.findings if f.pid is not None]
    busy = sorted(
        (w for w in snapshot.processes if w.kind is WorkloadKind.PROCESS and w.pid is not None),
        key=lambda w: (w.total.remote_pages, w.total.pages),
        reverse=True,
    )
    out: list[int] = []
    for pid in flagged + [w.pid for w in busy if w.pid is not None]:
        if pid not in out:
            out.append(pid)
    return out[:limit]


@dataclass
class TopWorkloadFacts:
    proc: Path = Path("/proc")
    limit: int = TOP_WORKLOADS
    _facts: dict[int, ProcessFacts] = field(default_factory=dict, init=False)
    _tried: set[int] = field(default_factory=set, init=False)

    def observe(self, snapshot: Snapshot) -> None:
        """Read the facts of top workloads seen for the first time."""
        alive = {w.pid for w in snapshot.processes if w.alive}
        for pid in ranked_pids(snapshot, self.limit):
            if pid in self._tried or pid not in alive:
                continue
            self._tried.add(pid)
            facts = read_process_facts(pid, proc=self.proc, seq=snapshot.seq)
            if facts is not None:
                self._facts[pid] = facts

    def final(self, snapshot: Snapshot | None) -> tuple[ProcessFacts, ...]:
        """Facts for the top workloads of the whole capture, refreshed where alive."""
        if snapshot is None:
            return ()
        # Only the living are re-read: a dead pid may already name another process.
        alive = {w.pid for w in snapshot.processes if w.alive}
        out = []
        for pid in ranked_pids(snapshot, self.limit):
            fresh = (
                read_process_facts(pid, proc=self.proc, seq=snapshot.seq) if pid in alive else None
            )
            facts = _newest_telling(fresh, self._facts.get(pid))
            if facts is not None:
                out.append(facts)
        return tuple(out)


def _newest_telling(
    fresh: ProcessFacts | None, earlier: ProcessFacts | None
) -> ProcessFacts | None:
    """The fresh facts, unless the process was caught exiting: a zombie's command
    line and mappings are gone, and what was read while it ran says more."""
    if fresh is None or (earlier is not None and earlier.cmdline and not fresh.cmdline):
        return earlier
    return fresh
