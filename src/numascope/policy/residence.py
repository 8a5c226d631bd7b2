"""Residence against a bind rule: memory that lives off the allowed nodes now.

Allocation counts only see where pages were placed while numascope watched.
Pages allocated before it started, moved later by NUMA balancing, demotion,
`migratepages` or a cpuset change, or placed before a bind took effect (a bind
does not move old pages) show up only in where the memory lives now: the
numa_maps read that gave the kernel policy.
"""

from __future__ import annotations

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.config import Placement, Thresholds
from numascope.policy.judge import RESIDENT_OUTSIDE_BIND, Verdict, level_for
from numascope.topology import format_list


def _mib(num_bytes: int) -> str:
    return f"{num_bytes / 2**20:,.1f} MiB"


def judge_residence(placement: Placement, kernel: ProcessPolicy, th: Thresholds) -> Verdict | None:
    """A RESIDENT_OUTSIDE_BIND verdict when a `bind` workload's resident bytes sit
    off its nodes by the remote-ratio thresholds; None otherwise."""
    if placement.kind != "bind":
        return None
    by_node = kernel.residence.by_node()
    total = sum(by_node.values())
    if not total:
        return None
    outside = {n: b for n, b in by_node.items() if n not in placement.nodes and b}
    ratio = sum(outside.values()) / total
    level = level_for(ratio, th.remote_ratio_warning, th.remote_ratio_critical)
    if level is None:
        return None
    text = (
        f"{ratio:.0%} of {_mib(total)} resident lives on node {format_list(outside)}, "
        f"outside bind:{format_list(placement.nodes)}"
    )
    evidence: dict[str, object] = {
        "resident_bytes_by_node": {str(n): b for n, b in sorted(by_node.items())},
        "outside_nodes": sorted(outside),
    }
    return Verdict(RESIDENT_OUTSIDE_BIND, level, ratio, text, evidence)
