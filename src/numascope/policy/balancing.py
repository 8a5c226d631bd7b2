"""Balancing that churns: NUMA balancing migrating a process's pages without helping it.

The collector gives each process a verdict (collectors/balancing_verdict.py, the
rule in numbers); a `churning` one becomes a finding here, keyed like the
process's own row so the detail screen and the exporter put them together.
"""

from __future__ import annotations

from numascope.snapshot.balancing import ProcessBalancing, Verdict
from numascope.snapshot.model import Finding, Severity, Snapshot
from numascope.topology import PAGE_SIZE

BALANCING_CHURNS = "balancing-churns"
RULE = "numa-balancing"


def _finding(row: ProcessBalancing) -> Finding:
    mib = row.pages_migrated_delta * PAGE_SIZE / (1 << 20)
    locality = "?" if row.locality is None else f"{row.locality:.0%}"
    message = (
        f"{row.name} (pid {row.pid}): NUMA balancing migrated {row.pages_migrated_delta} pages "
        f"({mib:.0f} MiB) since its previous reading while its faults stayed {locality} local; "
        f"preferred node {row.preferred_node} (changed {row.preferred_flips} times), "
        f"runs on node {row.current_node}"
    )
    return Finding(
        workload_key=f"pid:{row.pid}",
        workload_name=row.name,
        rule=RULE,
        kind=BALANCING_CHURNS,
        severity=Severity.WARNING,
        message=message,
        pid=row.pid,
        evidence={
            # The remote share of its faults: numascope_finding_ratio and the table show it.
            "ratio": None if row.locality is None else round(1 - row.locality, 4),
            "pages_migrated": row.pages_migrated_delta,
            "locality": None if row.locality is None else round(row.locality, 4),
            "previous_locality": (
                None if row.previous_locality is None else round(row.previous_locality, 4)
            ),
            "preferred_node": row.preferred_node,
            "preferred_flips": row.preferred_flips,
            "current_node": row.current_node,
        },
    )


def judge_balancing(snapshot: Snapshot) -> list[Finding]:
    """A finding per process whose balancing verdict is `churning`."""
    section = snapshot.balancing
    if section is None:
        return []
    return [_finding(p) for p in section.processes if p.verdict is Verdict.CHURNING]
