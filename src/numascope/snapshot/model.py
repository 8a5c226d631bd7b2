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
class Count:
    """A running total and what the last interval added."""

    total: float = 0
    delta: float = 0


@dataclass(frozen=True)
class Histogram:
    """Cumulative buckets (upper bound in seconds -> observations at or below it),
    as Prometheus expects, with empty buckets filled in; `inf` holds the count."""

    buckets: tuple[tuple[float, int], ...] = ()
    count: int = 0
    sum_seconds: float = 0.0


@dataclass(frozen=True)
class ReclaimNode:
    """The page daemon and reclaim on one node, and the node's memory state."""

    node: int
    kswapd_wakeups: Count = field(default_factory=Count)
    kswapd_awake_seconds: Count = field(default_factory=Count)
    kswapd_awake: bool = False
    pages_scanned: Count = field(default_factory=Count)
    pages_reclaimed: Count = field(default_factory=Count)
    direct_reclaim_stalls: Count = field(default_factory=Count)
    direct_reclaim_pages: Count = field(default_factory=Count)
    node_reclaim_events: Count = field(default_factory=Count)
    compaction_stalls: Count = field(default_factory=Count)
    # Dirty pages the page daemon cleaned for reuse (FreeBSD's laundry thread).
    laundered_pages: Count = field(default_factory=Count)
    free_bytes: int = 0
    file_bytes: int = 0
    anon_bytes: int = 0
    watermark_min_bytes: int = 0
    watermark_low_bytes: int = 0
    watermark_high_bytes: int = 0

    @property
    def under_reclaim(self) -> bool:
        """Reclaim ran on this node during the last interval."""
        return bool(
            self.kswapd_awake
            or self.kswapd_wakeups.delta
            or self.direct_reclaim_stalls.delta
            or self.node_reclaim_events.delta
        )


@dataclass(frozen=True)
class DirectReclaim:
    """Direct reclaim stalls one workload suffered (allocating from `node`)."""

    workload_key: str
    workload_name: str
    node: int
    stalls: Count = field(default_factory=Count)
    pages_reclaimed: Count = field(default_factory=Count)
    stall_seconds: Histogram = field(default_factory=Histogram)
    pid: int | None = None
    # "direct": the node ran short of free pages; "memcg": the workload's cgroup
    # reached its memory limit (not node pressure).
    cause: str = "direct"


@dataclass(frozen=True)
class IrqStats:
    """One hard IRQ: where it was handled against where its device sits."""

    irq: int
    name: str
    device_node: int  # -1: unknown
    affinity: tuple[int, ...] = ()
    count_by_node: Mapping[int, Count] = field(default_factory=dict)
    seconds_by_node: Mapping[int, Count] = field(default_factory=dict)

    @property
    def remote_share(self) -> float:
        """Share of the last interval's handlings on a node other than the device's."""
        if self.device_node < 0:
            return 0.0
        total = sum(c.delta for c in self.count_by_node.values())
        remote = sum(c.delta for n, c in self.count_by_node.items() if n != self.device_node)
        return remote / total if total else 0.0


@dataclass(frozen=True)
class SoftirqStats:
    """One softirq vector (NET_RX, BLOCK, TIMER, ...) per handling node."""

    vector: str
    count_by_node: Mapping[int, Count] = field(default_factory=dict)
    seconds_by_node: Mapping[int, Count] = field(default_factory=dict)


@dataclass(frozen=True)
class PageCacheNode:
    """The per-CPU page lists, over all CPUs, for pages of one node.

    Pages reach a CPU's list from the buddy allocator under the zone lock
    (refills) and from frees; allocations served from the list take no lock.
    """

    node: int
    alloc_pages: Count = field(default_factory=Count)
    refill_pages: Count = field(default_factory=Count)
    direct_pages: Count = field(default_factory=Count)
    direct_events: Count = field(default_factory=Count)
    drained_pages: Count = field(default_factory=Count)

    @property
    def zone_lock_share(self) -> float:
        """Pages taken under the zone lock per page allocated, last interval (0..1)."""
        locked = self.refill_pages.delta + self.direct_pages.delta
        return min(1.0, locked / self.alloc_pages.delta) if self.alloc_pages.delta else 0.0


@dataclass(frozen=True)
class PageCacheCpu:
    """One CPU's page list: what it allocated and what took the zone lock."""

    cpu: int
    node: int
    alloc_pages: Count = field(default_factory=Count)
    zone_locked_pages: Count = field(default_factory=Count)
    drained_pages: Count = field(default_factory=Count)

    @property
    def zone_lock_share(self) -> float:
        alloc = self.alloc_pages.delta
        return min(1.0, self.zone_locked_pages.delta / alloc) if alloc else 0.0


@dataclass(frozen=True)
class HighOrderSite:
    """High-order allocations from one kernel call chain, by owner and page node."""

    workload_key: str
    workload_name: str
    order_class: str
    node: int  # the page's node; -1 unknown
    frames: tuple[str, ...] = ()  # innermost first
    events: Count = field(default_factory=Count)
    pages: Count = field(default_factory=Count)
    pid: int | None = None


@dataclass(frozen=True)
class SlabCache:
    """Slab allocations of one cache from CPUs of one node, by the node requested."""

    cache: str
    cpu_node: int
    objects: Count = field(default_factory=Count)
    any_node: Count = field(default_factory=Count)  # NUMA_NO_NODE: the allocator chooses
    local_requested: Count = field(default_factory=Count)
    remote_requested: Count = field(default_factory=Count)

    @property
    def remote_share(self) -> float:
        """Objects explicitly requested on another node, last interval (0..1)."""
        return self.remote_requested.delta / self.objects.delta if self.objects.delta else 0.0


@dataclass(frozen=True)
class AllocatorNode:
    """High-order outcomes on one node: failures by order and kcompactd."""

    node: int
    failed_by_order: Mapping[str, Count] = field(default_factory=dict)  # by asking CPU node
    kcompactd_wakes: Count = field(default_factory=Count)


@dataclass(frozen=True)
class AllocatorSection:
    """Allocator internals: per-CPU page lists, high orders, compaction, slab."""

    nodes: tuple[AllocatorNode, ...] = ()
    page_cache: tuple[PageCacheNode, ...] = ()
    page_cache_cpus: tuple[PageCacheCpu, ...] = ()
    high_order_sites: tuple[HighOrderSite, ...] = ()
    slab_caches: tuple[SlabCache, ...] = ()
    compaction: Mapping[str, Count] = field(default_factory=dict)


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
    health: Health = field(default_factory=Health)
    findings: tuple[Finding, ...] = ()
    schema: int = SCHEMA_VERSION

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
