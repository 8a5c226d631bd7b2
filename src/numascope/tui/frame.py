"""A frame: one judged snapshot, with what the policy side says per workload."""

from __future__ import annotations

from dataclasses import dataclass

from numascope.pipeline.policy_step import Judged, PolicyStep
from numascope.policy import JUDGED_KINDS
from numascope.snapshot.model import Snapshot
from numascope.tui.rows import Placements


@dataclass(frozen=True)
class Frame:
    """One snapshot with what the policy side says about its workloads."""

    snapshot: Snapshot
    placements: Placements
    notes: tuple[str, ...] = ()


def frame_of(judged: Judged, step: PolicyStep | None) -> Frame:
    """The frame for a judged snapshot: each judged workload's rule and policy."""
    if step is None:
        return Frame(judged.snapshot, Placements(), judged.notes)
    rules = {}
    policies = judged.policies
    for w in judged.snapshot.processes:
        if w.kind in JUDGED_KINDS:
            kernel = policies.get(w.pid) if w.pid is not None else None
            rule = step.rule_for(w, kernel)
            rules[w.key] = f"{rule.name}: {rule.placement.describe()}"
    mempolicies = {pid: str(p.dominant) for pid, p in policies.items()}
    return Frame(judged.snapshot, Placements(rules, mempolicies), judged.notes)
