"""Pages migrated off the nodes a workload's rule allows.

A `bind`, `preferred` or `interleave` rule names nodes. Pages allocated there
can still be moved away afterwards: NUMA balancing follows the CPUs, a cpuset
change or `migratepages` moves them, demotion sends them to a slower tier. The
allocation judges do not see that (the pages came from the right node); this
one does, from the nodes the pages were migrated to, over the last interval.
Targets on an unknown node say nothing and are left out.
"""

from __future__ import annotations

from collections.abc import Callable

from numascope.config import Rule, Thresholds
from numascope.policy.judge import MIGRATED_OFF_RULE
from numascope.snapshot.migration import MigrationRow, MigrationSection
from numascope.snapshot.model import Finding, Severity, Workload
from numascope.topology import format_list

# The rule and workload of a process workload key ("pid:N"), None if not judged.
RuleOf = Callable[[str], tuple[Workload, Rule] | None]


def judge_migration(
    row: MigrationRow, workload: Workload, rule: Rule, thresholds: Thresholds
) -> Finding | None:
    """A finding when `row`'s pages of the last interval went mostly outside `rule`."""
    placement = rule.placement
    if placement.local:
        return None  # no fixed nodes: moving toward the CPU is what local wants
    allowed = set(placement.nodes)
    landed = {n: c.delta for n, c in row.targets.items() if n >= 0 and c.delta}
    total = sum(landed.values())
    if total < max(thresholds.min_pages, 1):
        return None
    outside = {n: p for n, p in landed.items() if n not in allowed}
    ratio = sum(outside.values()) / total
    if ratio <= 0 or ratio < thresholds.remote_ratio_warning:
        return None
    critical = ratio >= thresholds.remote_ratio_critical
    who = f"{workload.name} (pid {workload.pid})"
    message = (
        f"{who}: {ratio:.0%} of {total:.0f} pages migrated ({row.reason}) went to node "
        f"{format_list(sorted(outside))}, outside {placement.describe()} (rule '{rule.name}')"
    )
    return Finding(
        workload_key=workload.key,
        workload_name=workload.name,
        rule=rule.name,
        kind=MIGRATED_OFF_RULE,
        severity=rule.severity or (Severity.CRITICAL if critical else Severity.WARNING),
        message=message,
        pid=workload.pid,
        evidence={
            "reason": row.reason,
            "migrated_to": {str(n): p for n, p in sorted(landed.items())},
            "ratio": round(ratio, 4),
            "placement": placement.describe(),
        },
    )


def judge_migrations(
    section: MigrationSection | None, rule_of: RuleOf, thresholds: Thresholds
) -> list[Finding]:
    """Findings for every process row of `section` that moved pages off its rule."""
    if section is None or not section.tracks_nodes:
        return []
    out = []
    for row in section.rows:
        if row.tgid <= 0 or row.kernel_thread or not row.succeeded.delta:
            continue
        found = rule_of(row.workload_key)
        if found is None:
            continue
        finding = judge_migration(row, *found, thresholds)
        if finding is not None:
            out.append(finding)
    return out
