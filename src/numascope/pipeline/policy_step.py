"""The one policy step between a source and a view: reload, read, judge.

Every long-running command runs each snapshot through it: a pending SIGHUP
reload is applied first (its outcome is a note for the view to show), then the
kernel policies of the live processes are read within the engine's budget
(reading every process's numa_maps each poll took seconds on a host with
10,000 of them), then the snapshot is judged against the config. The same numa_maps reads give
the snapshot its residence section (pipeline/residence_step.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.config import PolicyHolder, Rule
from numascope.pipeline.residence_step import ResidenceStep
from numascope.policy import PolicyEngine
from numascope.snapshot.model import Snapshot, Workload


@dataclass(frozen=True)
class Judged:
    """One snapshot after the policy step, with what the step read and said."""

    snapshot: Snapshot
    # pid -> the kernel's memory policy, for the processes read so far.
    policies: Mapping[int, ProcessPolicy] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how a reload went, for the view to show
    reload_error: str = ""  # the reload asked for failed (the old policy is kept): why


class PolicyStep:
    """Reloads the policy on request, reads kernel policies within the budget, judges.

    `proc` None means the processes are not on this host (a replay): policies
    are not read. `rejudge` False keeps the findings a replayed capture carries
    (no policy was named to judge it by again).
    """

    def __init__(
        self, holder: PolicyHolder, *, proc: str | None = "/proc", rejudge: bool = True
    ) -> None:
        self.holder = holder
        self.proc = proc
        self.rejudge = rejudge
        self.engine = PolicyEngine(holder, proc=proc)
        # Residence is read on this host only; a replay keeps the captured one.
        self.residence = ResidenceStep() if proc is not None else None

    def apply(self, snapshot: Snapshot) -> Judged:
        """The snapshot judged by the current policy (reloaded first if asked)."""
        notes, error = self._reload()
        policies: Mapping[int, ProcessPolicy] = {}
        if self.proc is not None and snapshot.processes:
            policies = self.engine.kernel_policies(snapshot)
        if self.residence is not None:
            section = self.residence.section(snapshot, policies)
            snapshot = dataclasses.replace(snapshot, residence=section)
        if self.rejudge:
            snapshot = self.engine.judge(snapshot, policies)
        return Judged(snapshot, policies, notes, error)

    def rule_for(self, workload: Workload, kernel: ProcessPolicy | None) -> Rule:
        """The rule a workload falls under, as the last judgement chose it."""
        return self.engine.rule_for(workload, kernel)

    def _reload(self) -> tuple[tuple[str, ...], str]:
        """(notes for the view, the error of a failed reload or "")."""
        reloaded, error = self.holder.reload_if_requested()
        if error:
            return (error,), error
        if reloaded:
            return (f"policy reloaded from {self.holder.path or 'the built-in default'}",), ""
        return (), ""
