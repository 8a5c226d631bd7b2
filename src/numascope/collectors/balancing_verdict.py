"""The balancing verdict: is NUMA balancing helping a process, or churning it?

Pure code over two readings of /proc/PID/sched (docs/balancing.md states the
same rule for users). "Locality" is the share of the task's hinting faults that
hit memory on the node it runs on; "migrated" is numa_pages_migrated added since
the previous reading of this process.

  off        kernel.numa_balancing has bit 0 clear: nothing is balanced
  quiet      fewer than MIN_FAULTS faults recorded: too little to judge
  churning   migrated >= CHURN_PAGES, locality not up by IMPROVED, and either
             the preferred node changed >= CHURN_FLIPS times in the readings
             kept, or locality is below REMOTE
  improving  migrated > 0 and locality up by >= IMPROVED
  local      locality >= LOCAL
  improving  (also) migrated > 0 and the preferred node is the node it runs on:
             memory is being moved toward its CPU, locality not yet up
  stuck      the rest: faults mostly remote and balancing is not moving memory
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from numascope.snapshot.balancing import Verdict

MIN_FAULTS = 16
CHURN_PAGES = 1024  # 4 MiB of 4 KiB pages in one reading interval
CHURN_FLIPS = 2
IMPROVED = 0.05
REMOTE = 0.5
LOCAL = 0.8


@dataclass(frozen=True)
class VerdictInput:
    """What the rule looks at for one process."""

    balancing_on: bool
    total_faults: int
    locality: float | None
    previous_locality: float | None
    migrated: int
    preferred_flips: int
    preferred_node: int
    current_node: int


def judge(v: VerdictInput) -> Verdict:
    """The verdict for one process (see the module docstring for the rule)."""
    if not v.balancing_on:
        return Verdict.OFF
    if v.locality is None or v.total_faults < MIN_FAULTS:
        return Verdict.QUIET
    improved = v.previous_locality is not None and v.locality - v.previous_locality >= IMPROVED
    if (
        v.migrated >= CHURN_PAGES
        and not improved
        and (v.preferred_flips >= CHURN_FLIPS or v.locality < REMOTE)
    ):
        return Verdict.CHURNING
    if v.migrated > 0 and improved:
        return Verdict.IMPROVING
    if v.locality >= LOCAL:
        return Verdict.LOCAL
    if v.migrated > 0 and v.preferred_node == v.current_node:
        return Verdict.IMPROVING
    return Verdict.STUCK


def flips(preferred: list[int]) -> int:
    """Times the preferred node changed in a history (-1, "no preference", is skipped)."""
    known = [n for n in preferred if n >= 0]
    return sum(1 for a, b in itertools.pairwise(known) if a != b)
