"""Drift: the kernel applies a policy that contradicts the configured placement.

A workload configured `bind: [1]` but started without numactl runs with the
`default` policy; its pages may happen to land on node 1 today, and nothing
keeps them there tomorrow. A cpuset that confines the process to the expected
nodes counts as honouring the placement, since the kernel enforces it as well.
"""

from __future__ import annotations

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.config import Placement
from numascope.policy.judge import DRIFT, Verdict
from numascope.snapshot.model import Severity
from numascope.topology import format_list

_PREFER_MODES = ("prefer", "prefer (many)")
_INTERLEAVE_MODES = ("interleave", "weighted interleave")


def _consistent(placement: Placement, kernel: ProcessPolicy) -> bool:
    policy = kernel.dominant
    expected = set(placement.nodes)
    nodes = set(policy.nodes)
    # A cpuset only stands in for the placement when no explicit policy overrides it.
    confined = policy.is_default and bool(kernel.mems_allowed)
    confined = confined and set(kernel.mems_allowed) <= expected
    kind = placement.kind
    if kind == "local":
        return policy.is_default
    if kind == "bind":
        return (policy.mode == "bind" and nodes == expected) or confined
    if kind in ("preferred", "preferred-many"):
        if policy.mode in _PREFER_MODES and nodes and nodes <= expected:
            return kind == "preferred-many" or nodes == expected
        return (policy.mode == "bind" and bool(nodes) and nodes <= expected) or confined
    if kind == "interleave":
        return policy.mode in _INTERLEAVE_MODES and nodes == expected
    return True


def judge_drift(placement: Placement, kernel: ProcessPolicy) -> Verdict | None:
    """A DRIFT verdict when the kernel's policy contradicts `placement`."""
    if _consistent(placement, kernel):
        return None
    actual = str(kernel.dominant)
    text = f"kernel applies '{actual}', expected {placement.describe()}"
    if kernel.mems_allowed:
        text += f" (mems allowed {format_list(kernel.mems_allowed)})"
    evidence: dict[str, object] = {
        "expected": placement.describe(),
        "actual": actual,
        "regions_by_policy": dict(kernel.regions_by_policy),
        "mems_allowed": list(kernel.mems_allowed),
    }
    return Verdict(DRIFT, Severity.WARNING, 0.0, text, evidence)
