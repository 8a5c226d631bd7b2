"""The snapshot's sections beyond page allocations, one group per probe family.

Reclaim (kswapd and direct reclaim per node, stalls per workload), interrupts
and softirqs, and the allocator's internals (per-CPU page lists, high-order call
sites, slab caches). Like the rest of the snapshot they are immutable, and carry
a running `total` and the last interval's `delta` for every count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
