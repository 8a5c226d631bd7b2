"""Migrations: pages the kernel moved between frames, by who moved them and why.

One row per (process or kernel thread, reason) from the `migrate` probe
family, next to the kernel's own migration counters (/proc/vmstat and each
node's vmstat) as the cross-check. Pages are base pages: a migrated THP counts
512. Source and target nodes are what the probe saw the migrating thread free
and allocate inside the migration; `UNKNOWN` pages were not seen either way
(see docs/migrations.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from numascope.snapshot.sections import Count

# The kernel's enum migrate_reason (include/linux/migrate_mode.h), in code
# order; 6.1 stops at demotion, 6.18 adds damon.
REASONS = (
    "compaction",
    "memory_failure",
    "memory_hotplug",
    "syscall_or_cpuset",
    "mempolicy_mbind",
    "numa_misplaced",
    "contig_range",
    "longterm_pin",
    "demotion",
    "damon",
)
# The node of a page seen on no node the topology knew.
UNKNOWN_NODE = -1

# /proc/vmstat (and nodeN/vmstat, where the kernel keeps them per node) counters
# about migration, numascope's cross-check.
KERNEL_COUNTERS = (
    "pgmigrate_success",
    "pgmigrate_fail",
    "numa_pages_migrated",
    "thp_migration_success",
    "thp_migration_fail",
    "thp_migration_split",
    "pgdemote_kswapd",
    "pgdemote_direct",
    "pgdemote_khugepaged",
    "pgdemote_proactive",
    "pgpromote_success",
    "pgpromote_candidate",
)


def reason_name(code: int) -> str:
    """The kernel's name of a migrate_reason code ("reason_12" for one unknown here)."""
    return REASONS[code] if 0 <= code < len(REASONS) else f"reason_{code}"


@dataclass(frozen=True)
class MigrationRow:
    """What one process or kernel thread migrated for one reason."""

    tgid: int  # 0: the "other" row (the probe's map was full)
    name: str
    reason: str
    kernel_thread: bool = False
    calls: Count = field(default_factory=Count)
    succeeded: Count = field(default_factory=Count)  # base pages
    failed: Count = field(default_factory=Count)
    thp_succeeded: Count = field(default_factory=Count)  # huge pages, not base pages
    thp_failed: Count = field(default_factory=Count)
    thp_split: Count = field(default_factory=Count)
    # Pages freed / allocated by the migrating thread inside the migration, by
    # node (UNKNOWN_NODE: a pfn on no known node).
    sources: Mapping[int, Count] = field(default_factory=dict)
    targets: Mapping[int, Count] = field(default_factory=dict)

    @property
    def workload_key(self) -> str:
        """The key of the process workload this row belongs to."""
        return f"pid:{self.tgid}"


# Outcomes of NUMA balancing moving a task (not its pages) toward its memory,
# in the probe's code order: sched_move_numa, sched_swap_numa, sched_stick_numa.
TASK_MOVE_OUTCOMES = ("moved", "swapped", "stuck")


@dataclass(frozen=True)
class TaskMoveRow:
    """How often NUMA balancing moved one process's threads between nodes, by
    outcome: `moved` to a CPU of another node, `swapped` with a task there, or
    `stuck` (it wanted to and found no CPU the task may use, or the move failed)."""

    tgid: int  # 0: the "other" row (the probe's map was full)
    name: str
    outcome: str
    # Events by the node the task was sent to (UNKNOWN_NODE: balancing found none).
    to_nodes: Mapping[int, Count] = field(default_factory=dict)

    @property
    def workload_key(self) -> str:
        """The key of the process workload this row belongs to."""
        return f"pid:{self.tgid}"

    @property
    def events(self) -> Count:
        return Count(
            sum(c.total for c in self.to_nodes.values()),
            sum(c.delta for c in self.to_nodes.values()),
        )


@dataclass(frozen=True)
class KernelMigrationCounters:
    """The kernel's migration counters: host-wide (node None) or one node's."""

    node: int | None
    counters: Mapping[str, Count] = field(default_factory=dict)


@dataclass(frozen=True)
class MigrationSection:
    """Every row, and the kernel's counters to hold them against."""

    rows: tuple[MigrationRow, ...] = ()
    # Whether sources and targets were tracked (the window tracepoints attached).
    tracks_nodes: bool = False
    kernel: tuple[KernelMigrationCounters, ...] = ()
    # NUMA balancing's task moves (sched_*_numa); empty when none happened or the
    # tracepoints were not attached (`tracks_task_moves`).
    task_moves: tuple[TaskMoveRow, ...] = ()
    tracks_task_moves: bool = False

    def host_kernel(self) -> Mapping[str, Count]:
        """The host-wide (/proc/vmstat) counters."""
        return next((k.counters for k in self.kernel if k.node is None), {})


def pages_by_reason(rows: Iterable[MigrationRow]) -> dict[str, Count]:
    """Succeeded pages summed per reason (total and delta)."""
    out: dict[str, Count] = {}
    for row in rows:
        was = out.get(row.reason, Count())
        out[row.reason] = Count(was.total + row.succeeded.total, was.delta + row.succeeded.delta)
    return out


def node_pages(counts: Mapping[int, Count]) -> float:
    return sum(c.total for c in counts.values())


def rows_of(section: MigrationSection | None, tgid: int) -> tuple[MigrationRow, ...]:
    """The rows of one process, most pages first."""
    if section is None:
        return ()
    rows = [r for r in section.rows if r.tgid == tgid]
    return tuple(sorted(rows, key=lambda r: r.succeeded.total, reverse=True))


def task_moves_of(section: MigrationSection | None, tgid: int) -> dict[str, TaskMoveRow]:
    """One process's task moves, a row per outcome (an empty one when none)."""
    out = {outcome: TaskMoveRow(tgid, "", outcome) for outcome in TASK_MOVE_OUTCOMES}
    for row in section.task_moves if section is not None else ():
        if row.tgid == tgid:
            out[row.outcome] = row  # the collector keeps one row per (tgid, outcome)
    return out
