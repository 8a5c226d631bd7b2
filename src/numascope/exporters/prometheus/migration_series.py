"""The migrate section as metric declarations and as rows for the budgeted ledger.

Per workload, pages migrated are a family cut by a label budget like the
workloads' own (budgeted.py steps it): a series per (process or kernel thread)
for the MIGRATION_LIMIT that migrated most, the rest under workload="other",
and every reason a column, so the series add up to numascope_migrated_pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable

from numascope.exporters.prometheus.labels import label_value
from numascope.exporters.prometheus.metric import Metric
from numascope.snapshot.migration import MigrationSection

MIGRATION_LIMIT = 20
MIGRATOR = ("workload", "pid", "kind")
PROCESS, KERNEL_THREAD = "process", "kernel_thread"

MIGRATION_METRICS = (
    Metric(
        "numascope_migrated_pages",
        "counter",
        ("reason",),
        "Base pages the kernel migrated (a THP counts 512), by migrate reason: "
        "compaction, numa_misplaced, syscall_or_cpuset, demotion, ...",
    ),
    Metric(
        "numascope_migration_failed_pages",
        "counter",
        ("reason",),
        "Base pages the kernel failed to migrate, by migrate reason.",
    ),
    Metric(
        "numascope_migrated_pages_by_workload",
        "counter",
        (*MIGRATOR, "reason"),
        "Base pages migrated by a process or kernel thread (kind), since it was named; "
        'workload="other" counts the rest: they add up to numascope_migrated_pages.',
    ),
    Metric(
        "numascope_migration_node_pages",
        "counter",
        ("reason", "direction", "node"),
        "Pages the migrating thread freed (direction=source) or was given "
        "(direction=target) inside a migration, by node (-1: unknown node); pages not "
        "seen either way are not counted here (docs/migrations.md).",
    ),
    Metric(
        "numascope_migration_kernel",
        "counter",
        ("counter",),
        "The kernel's own /proc/vmstat migration counter (pgmigrate_success, "
        "numa_pages_migrated, thp_migration_*, pgdemote_*, pgpromote_*) since numascope "
        "started: the cross-check of numascope_migrated_pages.",
    ),
    Metric(
        "numascope_numa_task_moves",
        "counter",
        ("outcome", "node"),
        "Times NUMA balancing moved a thread toward its memory, whole host "
        "(sched_move_numa, sched_swap_numa, sched_stick_numa): outcome=moved to a CPU of "
        "node, swapped with a thread there (a swap counts for both), or stuck: it wanted "
        "to move the thread and could not (node=-1: it found no CPU the thread may use).",
    ),
    Metric(
        "numascope_migration_kernel_node",
        "counter",
        ("counter", "node"),
        "The kernel's nodeN/vmstat migration counter (pgdemote_*, pgpromote_*) since "
        "numascope started.",
    ),
)

Labels = tuple[str, ...]


def migration_totals(section: MigrationSection) -> dict[Labels, dict[Hashable, float]]:
    """Succeeded pages by (workload, pid, kind), one column per (reason,)."""
    totals: dict[Labels, dict[Hashable, float]] = defaultdict(lambda: defaultdict(float))
    for row in section.rows:
        kind = KERNEL_THREAD if row.kernel_thread else PROCESS
        labels = (label_value(row.name), str(row.tgid) if row.tgid else "", kind)
        totals[labels][(row.reason,)] += row.succeeded.total
    return totals
