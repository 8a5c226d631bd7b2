"""Samples for the migrate section: host counters by reason, per-workload series
from the budgeted ledger, source and target nodes, NUMA balancing's task moves,
and the kernel's counters."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from numascope.exporters.prometheus.budgeted import OTHER_LABELS, Exposure
from numascope.exporters.prometheus.labels import node_label
from numascope.snapshot.migration import MigrationSection

if TYPE_CHECKING:
    from numascope.exporters.prometheus.families import Samples


def migration_samples(s: Samples, section: MigrationSection | None, exposure: Exposure) -> None:
    """Add the migrate section's samples (nothing when the family is not running)."""
    if section is None:
        return
    for row in section.rows:
        s.add("numascope_migrated_pages", (row.reason,), row.succeeded.total)
        s.add("numascope_migration_failed_pages", (row.reason,), row.failed.total)
        for direction, by_node in (("source", row.sources), ("target", row.targets)):
            for node, count in by_node.items():
                cell = (row.reason, direction, node_label(node))
                s.add("numascope_migration_node_pages", cell, count.total)
    for move in section.task_moves:
        for node, count in move.to_nodes.items():
            s.add("numascope_numa_task_moves", (move.outcome, node_label(node)), count.total)
    for kernel in section.kernel:
        for name, count in kernel.counters.items():
            if kernel.node is None:
                s.add("numascope_migration_kernel", (name,), count.total)
            else:
                s.add(
                    "numascope_migration_kernel_node", (name, node_label(kernel.node)), count.total
                )
    if exposure.migrations is None:
        return
    columns = cast(tuple[tuple[str], ...], exposure.migrations.view.columns)  # (reason,)
    for labels, values in exposure.migrations.rows(OTHER_LABELS["migrations"]):
        for (reason,), value in zip(columns, values.tolist(), strict=True):
            s.add("numascope_migrated_pages_by_workload", (*labels, reason), value)
