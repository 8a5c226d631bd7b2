"""The snapshot: numascope's one data model, shared by every view.

A collector turns kernel maps (or a capture file, or DTrace output) into a
`Snapshot`; the policy adds findings; the TUI, the exporter and the report only
read it. Snapshots are immutable: a view can keep one as long as it likes.

Every count comes twice: `total` (a running total since numascope started, which
only goes up, exited processes included) and `delta` (what the last interval
added). Node-keyed mappings use the kernel's node ids, which may be sparse.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from numascope.snapshot.balancing import BalancingSection
from numascope.snapshot.migration import MigrationSection
from numascope.snapshot.residence import ResidenceSection
from numascope.snapshot.sections import (
    AllocatorSection,
    DirectReclaim,
    IrqStats,
    ReclaimNode,
    SoftirqStats,
)

SCHEMA_VERSION = 1

# Order classes follow the page allocator's own thresholds: order 0 is the common
# case, up to PAGE_ALLOC_COSTLY_ORDER (3) the allocator tries hard, above it is
# "costly", and from pageblock order (9 on x86-64) on it is a huge page.
ORDER_CLASSES: tuple[str, ...] = ("0", "1-3", "4-8", "9+")


def order_class(order: int) -> int:
    """Index into ORDER_CLASSES for a page order (mirrors the probe's C code)."""
    if order == 0:
        return 0
    if order <= 3:
        return 1
    if order <= 8:
        return 2
    return 3


class WorkloadKind(enum.StrEnum):
    """What made an allocation: a user process, a kernel thread, or an interrupt."""

    PROCESS = "process"
    KTHREAD = "kthread"
    HARDIRQ = "hardirq"
    SOFTIRQ = "softirq"
    CGROUP = "cgroup"
    OTHER = "other"  # the overflow entry: owners the bounded map had no room for


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Locality:
    """Pages and allocation events by the node that supplied them.

    `local_*` counts allocations whose page came from the node of the CPU that
    asked; `remote_*` the rest (including pages whose node is unknown).
    """

    pages_by_node: Mapping[int, int] = field(default_factory=dict)
    events_by_node: Mapping[int, int] = field(default_factory=dict)
    local_pages: int = 0
    remote_pages: int = 0
    local_events: int = 0
    remote_events: int = 0

    @property
    def pages(self) -> int:
        return self.local_pages + self.remote_pages

    @property
    def events(self) -> int:
        return self.local_events + self.remote_events

    @property
    def remote_ratio(self) -> float:
        """Remote share of pages, 0..1 (0 when nothing was allocated)."""
        total = self.pages
        return self.remote_pages / total if total else 0.0


def sum_localities(parts: Iterable[Locality]) -> Locality:
    """One Locality holding the sum of `parts`."""
    pages: dict[int, int] = {}
    events: dict[int, int] = {}
    local_pages = remote_pages = local_events = remote_events = 0
    for part in parts:
        for node, n in part.pages_by_node.items():
            pages[node] = pages.get(node, 0) + n
        for node, n in part.events_by_node.items():
            events[node] = events.get(node, 0) + n
        local_pages += part.local_pages
        remote_pages += part.remote_pages
        local_events += part.local_events
        remote_events += part.remote_events
    return Locality(pages, events, local_pages, remote_pages, local_events, remote_events)


@dataclass(frozen=True)
class PodIdentity:
    """The Kubernetes pod (and container) a cgroup belongs to, read from its path.

    `pod_uid` is the pod's UID as the API server writes it (with dashes), the
    `uid` label of kube-state-metrics' `kube_pod_info`; `container_id` is the
    runtime's id ("" for the pod's own cgroup or a runtime helper beside the
    containers, such as CRI-O's conmon); `qos` is guaranteed, burstable or
    besteffort.
    """

    pod_uid: str
    container_id: str = ""
    qos: str = ""


@dataclass(frozen=True)
class Workload:
    """One allocating context: a process, kernel thread, IRQ, softirq or cgroup.

    `key` is stable across snapshots ("pid:1234", "softirq:NET_RX", "cgroup:/a/b",
    "other") and is what views use to follow a row over time.
    """

    key: str
    kind: WorkloadKind
    name: str
    total: Locality
    delta: Locality
    pid: int | None = None
    cgroup: str | None = None
    alive: bool = True
    # The memory policy the kernel applied, in numa_maps' words (default, local,
    # prefer, bind, interleave); "" when the collector did not see it.
    mempolicy: str = ""
    # The pod its cgroup belongs to; None outside Kubernetes' kubepods tree.
    pod: PodIdentity | None = None


@dataclass(frozen=True)
class NodeStats:
    """One NUMA node as a page supplier, and its own state.

    `total.pages_by_node` here is keyed by the *requesting CPU's* node: who this
    node's pages went to. `local_*` are pages taken by CPUs of this very node.
    """

    node: int
    total: Locality
    delta: Locality
    pages_by_order: Mapping[str, int] = field(default_factory=dict)
    cpus: tuple[int, ...] = ()
    mem_total_bytes: int = 0
    mem_free_bytes: int = 0

    @property
    def cpuless(self) -> bool:
        return not self.cpus


@dataclass(frozen=True)
class MatrixCell:
    """Pages that CPUs of `cpu_node` got from `page_node` (-1: node unknown)."""

    cpu_node: int
    page_node: int
    total_pages: int
    delta_pages: int
    total_events: int
    delta_events: int


@dataclass(frozen=True)
class KernelNodeCounters:
    """The kernel's own per-node numastat counters (counts of allocation events)."""

    node: int
    total: Mapping[str, int]
    delta: Mapping[str, int]


@dataclass(frozen=True)
class Finding:
    """Something that breaks the configured placement, with its evidence."""

    workload_key: str
    workload_name: str
    rule: str
    kind: str
    severity: Severity
    message: str
    pid: int | None = None
    evidence: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FamilyHealth:
    """One probe family at the latest poll: how long it took, whether it worked."""

    # Seconds the family's read took at the latest poll (0 when it was not polled).
    poll_seconds: float = 0.0
    # False when the family gave nothing this poll: its read failed now or earlier,
    # one of its programs went away, or it never attached.
    ok: bool = True
    # Times the family (or one of its programs) stopped working after it attached.
    failures: int = 0


@dataclass(frozen=True)
class ProgramCost:
    """What the kernel timed for one BPF program (bpf_stats; 0 while stats are off)."""

    run_ns: int = 0
    runs: int = 0


@dataclass(frozen=True)
class Health:
    """numascope's account of itself: what ran, what it lost, what it cost."""

    probes_attached: tuple[str, ...] = ()
    probes_missing: Mapping[str, str] = field(default_factory=dict)
    overflow_pages: int = 0
    overflow_events: int = 0
    recursion_misses: int = 0
    map_capacity: int = 0
    map_peak_entries: int = 0
    poll_seconds: float = 0.0
    bpf_run_ns: int = 0
    bpf_run_count: int = 0
    # Seconds BPF statistics were on (they are sampled: see probes/prog_stats.py);
    # bpf_run_ns over this is the share of a CPU the programs take.
    bpf_stats_seconds: float = 0.0
    notes: tuple[str, ...] = ()
    # Probes or families that stopped working after they attached (a program
    # detached, a map read failed): counted once each, and listed in probes_missing.
    probe_failures: int = 0
    # Pids seen exited and then alive again: a new process under an old pid.
    pid_reuses: int = 0
    # Pages from pfns outside every node range compiled in (memory hot-added).
    unknown_node_pages: int = 0
    # Polls that started an interval or more late (the next ones are not bunched).
    poll_overruns: int = 0
    # Per probe family asked for (attached or not), keyed by family name.
    families: Mapping[str, FamilyHealth] = field(default_factory=dict)
    # Per attached BPF program, keyed "family.function".
    programs: Mapping[str, ProgramCost] = field(default_factory=dict)
    # Why the source fell back to the kernel's own counters ("" when it did not):
    # a short code such as "no_privilege" or "no_kernel_headers".
    source_fallback: str = ""


@dataclass(frozen=True)
class HostInfo:
    hostname: str = ""
    kernel: str = ""
    platform: str = "linux"


@dataclass(frozen=True)
class Snapshot:
    """Everything numascope knows at the end of one poll interval."""

    seq: int
    time: float
    interval: float
    source: str
    host: HostInfo
    nodes: tuple[NodeStats, ...]
    matrix: tuple[MatrixCell, ...] = ()
    # A tuple, or a live collector's WorkloadColumns (rows built when read).
    processes: Sequence[Workload] = ()
    cgroups: Sequence[Workload] = ()
    kernel: tuple[KernelNodeCounters, ...] = ()
    reclaim: tuple[ReclaimNode, ...] = ()
    direct_reclaim: tuple[DirectReclaim, ...] = ()
    irqs: tuple[IrqStats, ...] = ()
    softirqs: tuple[SoftirqStats, ...] = ()
    allocator: AllocatorSection | None = None
    # Where memory lives now (None: not read, e.g. an older capture).
    residence: ResidenceSection | None = None
    # Pages the kernel migrated, by reason and task (None: the family is off, or an older capture).
    migrations: MigrationSection | None = None
    health: Health = field(default_factory=Health)
    findings: tuple[Finding, ...] = ()
    schema: int = SCHEMA_VERSION
    # NUMA balancing and memory tiers (None: not read, as in older captures).
    balancing: BalancingSection | None = None

    @property
    def node_ids(self) -> tuple[int, ...]:
        return tuple(n.node for n in self.nodes)

    def process(self, key: str) -> Workload | None:
        """The process (or interrupt) workload with this key, if present."""
        find = getattr(self.processes, "get", None)  # WorkloadColumns: no row built
        if find is not None:
            return find(key)  # type: ignore[no-any-return]
        for workload in self.processes:
            if workload.key == key:
                return workload
        return None
