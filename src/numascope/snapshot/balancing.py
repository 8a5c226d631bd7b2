"""NUMA balancing and memory tiers: the snapshot's `balancing` section.

Plain immutable data, read from `/proc/PID/sched`, `/proc/vmstat`,
`kernel.numa_balancing`, cgroup v2 `memory.stat`, the memory-tiering sysfs and
`nodeN/vmstat` (see docs/balancing.md for what each field means and which
kernel has it). A figure the kernel does not offer is None ("not available"),
never 0: a 6.1 kernel has no numa fields in memory.stat, a kernel without
memory tiering has no tier folders.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Verdict(enum.StrEnum):
    """What NUMA balancing is doing for one process (rule: collectors/balancing_verdict.py)."""

    OFF = "off"  # kernel.numa_balancing is 0 (or tiering-only): nothing is balanced
    QUIET = "quiet"  # too few hinting faults in the window to judge
    LOCAL = "local"  # faults are local and little moves: balancing has nothing to do
    IMPROVING = "improving"  # it migrates and faults are getting more local
    CHURNING = "churning"  # it migrates a lot and locality does not improve
    STUCK = "stuck"  # faults stay remote and balancing does not move the memory


@dataclass(frozen=True)
class NodeFaults:
    """One node's NUMA hinting faults for a task, as /proc/PID/sched prints them.

    These are the kernel's decayed fault averages (halved at every scan
    period), not running totals: compare their shares, not their sizes.
    """

    task_private: int = 0
    task_shared: int = 0
    group_private: int = 0
    group_shared: int = 0

    @property
    def task(self) -> int:
        return self.task_private + self.task_shared


@dataclass(frozen=True)
class ProcessBalancing:
    """NUMA balancing as the kernel keeps it for one process, summed over its threads
    read (collectors/numa_sched.py: the nodes are the busiest thread's)."""

    pid: int
    name: str
    # The node the task ran on when read, and the node balancing wants it on (-1: none).
    current_node: int
    preferred_node: int
    # Pages NUMA balancing migrated for the threads read: their running totals at
    # numascope's first reading, plus each thread's increase since (a thread that
    # exits keeps its part, so the figure never goes down).
    pages_migrated: int
    # Pages migrated since this process was read before (0 at its first reading).
    pages_migrated_delta: int
    total_faults: int
    faults: Mapping[int, NodeFaults] = field(default_factory=dict)
    numa_group_id: int = 0
    # Share of the task's faults on memory of the node it runs on, 0..1 (None: no faults).
    locality: float | None = None
    # The same share at this process's previous reading (None: first reading).
    previous_locality: float | None = None
    # Times the preferred node changed over the readings kept (a flip is a change).
    preferred_flips: int = 0
    verdict: Verdict = Verdict.QUIET
    # When it was read (seconds since the epoch): reads are budgeted, rows are stale.
    read_at: float = 0.0
    # Threads the process had when read, and how many of them were read (at most
    # collectors/numa_sched.MAX_THREADS): the figures above cover only those read.
    threads: int = 1
    threads_read: int = 1

    @property
    def threads_left_out(self) -> int:
        return max(0, self.threads - self.threads_read)


@dataclass(frozen=True)
class CgroupBalancing:
    """A cgroup v2 memory.stat's balancing fields (kernel 6.12+: numa_* appear there).

    None for a field the kernel does not print: 6.1's memory.stat has none of
    them; numa_pages_migrated, numa_pte_updates, numa_hint_faults and
    pgpromote_success arrived in 6.12, pgdemote_* shortly before; v1 memory.stat
    has none of them on any kernel.
    """

    path: str
    numa_pages_migrated: int | None = None
    numa_pte_updates: int | None = None
    numa_hint_faults: int | None = None
    pgpromote_success: int | None = None
    pgdemote_kswapd: int | None = None
    pgdemote_direct: int | None = None
    pgdemote_khugepaged: int | None = None


@dataclass(frozen=True)
class HostBalancing:
    """The host's NUMA balancing mode and its /proc/vmstat counters (running totals)."""

    # kernel.numa_balancing: 0 off, 1 normal, 2 memory tiering, 3 both; None: no such sysctl.
    mode: int | None = None
    # numa_pte_updates, numa_huge_pte_updates, numa_hint_faults, numa_hint_faults_local,
    # numa_pages_migrated (absent: a kernel without CONFIG_NUMA_BALANCING), and the
    # host's pgpromote_* / pgdemote_* (on 6.1 demotions are counted only here).
    total: Mapping[str, int] = field(default_factory=dict)
    delta: Mapping[str, int] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        """True when the kernel balances memory toward CPUs (mode 1 or 3)."""
        return self.mode is not None and bool(self.mode & 1)


@dataclass(frozen=True)
class NodeTier:
    """One node's memory tier and its promotion/demotion counters (nodeN/vmstat)."""

    node: int
    # The tier folder's number (memory_tierN: lower N is a faster tier); None: no tiering sysfs.
    tier: int | None
    cpuless: bool = False
    # pgpromote_success, pgdemote_kswapd, pgdemote_direct, pgdemote_khugepaged (and
    # pgdemote_proactive where the kernel has it): running totals; absent: not available.
    total: Mapping[str, int] = field(default_factory=dict)
    delta: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BalancingSection:
    """Everything about NUMA balancing and memory tiers at one poll."""

    host: HostBalancing = field(default_factory=HostBalancing)
    processes: tuple[ProcessBalancing, ...] = ()
    cgroups: tuple[CgroupBalancing, ...] = ()
    tiers: tuple[NodeTier, ...] = ()
    # /sys/kernel/mm/numa/demotion_enabled; None where the kernel has no such file.
    demotion_enabled: bool | None = None
    # Processes read this poll, and how many polls it takes to read them all once.
    read_this_poll: int = 0
    rotation_polls: int = 0
    notes: tuple[str, ...] = ()
    # Processes by verdict, every one balancing touched, carried in `processes` or not.
    verdicts: Mapping[str, int] = field(default_factory=dict)
    # Processes balancing touched but not carried (past the collector's row limit).
    left_out: int = 0

    def process(self, pid: int) -> ProcessBalancing | None:
        """The balancing row of process `pid`, if it was read."""
        return next((p for p in self.processes if p.pid == pid), None)

    def tier_of(self, node: int) -> int | None:
        """The memory tier of `node` (None when not available)."""
        return next((t.tier for t in self.tiers if t.node == node), None)
