"""Read the reclaim probe's maps into per-node reclaim state and stalls per workload.

The collector takes the probe's tables (a `bcc.BPF` object or anything with
the same table interface) and the sysfs/procfs roots, so it runs in tests
without a kernel. Per-node counters are per-CPU and never reset: a poll sums
the CPUs. Stalls per workload are drained from the idle half of a
double-buffered hash (see reclaim.bpf.c) into running totals, as page
allocations are.

Stalls are grouped by the node of the CPU the task stalled on; direct reclaim
there may free pages on other nodes too (the allocation's zonelist), so
"direct reclaim on node 1" reads "tasks on node 1 ran short of memory".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from numascope.collectors.counts import CountTracker
from numascope.collectors.expiring import Expiring
from numascope.collectors.histogram import add_slots, log2_histogram
from numascope.collectors.maps import MapTables
from numascope.collectors.names import decode_comm
from numascope.collectors.node_memory import (
    read_node_memory,
    read_watermarks,
    system_page_size,
)
from numascope.probes.reclaim import (
    KIND_DIRECT,
    KIND_KSWAPD,
    KIND_MEMCG,
    KIND_NODE,
    KINDS,
    ReclaimLayout,
)
from numascope.snapshot.sections import DirectReclaim, ReclaimNode

STALL_UNIT_SECONDS = 1e-6  # the probe's histogram counts microseconds
OVERFLOW_TGID = -1
# How long the zones' watermarks are used before /proc/zoneinfo is read again:
# they change only with sysctls and memory hotplug, and zoneinfo lists every
# CPU's page sets (tens of kilobytes to parse on a large host).
WATERMARK_SECONDS = 10.0


class StallerKey(NamedTuple):
    tgid: int  # OVERFLOW_TGID: workloads the bounded hash had no room for
    kind: int
    cpu_node: int


@dataclass
class StallerTotals:
    stalls: int = 0
    reclaimed: int = 0
    stall_ns: int = 0
    slots: list[int] = field(default_factory=list)
    comm: bytes = b""


@dataclass(frozen=True)
class NodeTotals:
    """One node's counters summed over CPUs (running totals since attach)."""

    kswapd_wakeups: int
    kswapd_awake_ns: int
    kswapd_awake: bool
    scanned: tuple[int, ...]  # by reclaimer kind (KINDS)
    reclaimed: tuple[int, ...]
    stalls: tuple[int, ...]
    stall_reclaimed: tuple[int, ...]
    compaction_stalls: int


@dataclass
class ReclaimReading:
    nodes: tuple[ReclaimNode, ...]
    stalls: tuple[DirectReclaim, ...]
    totals: dict[int, NodeTotals]  # node id (-1: out of range) -> raw totals


def sum_node_slot(per_cpu: Any, since_ns: int, now_ns: int) -> NodeTotals:
    """Add one node slot's per-CPU values; an awake kswapd counts up to `now_ns`."""
    width = len(KINDS)
    scanned, reclaimed, stalls, stall_reclaimed = ([0] * width for _ in range(4))
    wakeups = awake_ns = compaction = 0
    for v in per_cpu:
        wakeups += v.kswapd_wakeups
        awake_ns += v.kswapd_awake_ns
        compaction += v.compaction_stalls
        for k in range(width):
            scanned[k] += v.scanned[k]
            reclaimed[k] += v.reclaimed[k]
            stalls[k] += v.stalls[k]
            stall_reclaimed[k] += v.stall_reclaimed[k]
    if since_ns:
        awake_ns += max(0, now_ns - since_ns)
    return NodeTotals(
        kswapd_wakeups=wakeups,
        kswapd_awake_ns=awake_ns,
        kswapd_awake=bool(since_ns),
        scanned=tuple(scanned),
        reclaimed=tuple(reclaimed),
        stalls=tuple(stalls),
        stall_reclaimed=tuple(stall_reclaimed),
        compaction_stalls=compaction,
    )


@dataclass
class ReclaimCollector:
    tables: MapTables
    layout: ReclaimLayout
    node_ids: tuple[int, ...]
    _: KW_ONLY
    sysfs: Path = Path("/sys")
    proc: Path = Path("/proc")
    settle_seconds: float = 0.002
    _epoch: int = field(default=0, init=False)
    _stallers: dict[StallerKey, StallerTotals] = field(default_factory=dict, init=False)
    _counts: CountTracker = field(default_factory=CountTracker, init=False)
    watermark_seconds: float = WATERMARK_SECONDS
    clock: Callable[[], float] = time.monotonic
    # zoneinfo's watermarks are in pages of the running kernel (16 or 64 KiB on some).
    page_size: int = field(default_factory=system_page_size)

    def __post_init__(self) -> None:
        self._watermarks: Expiring[dict[int, tuple[int, int, int]]] = Expiring(
            self.watermark_seconds
        )

    def read(self) -> ReclaimReading:
        totals = self.node_totals()
        self._drain_stallers()
        watermarks = self._watermarks.get(self.clock(), lambda: read_watermarks(self.proc))
        memory = read_node_memory(
            self.node_ids,
            sysfs=self.sysfs,
            proc=self.proc,
            page_size=self.page_size,
            watermarks=watermarks,
        )
        nodes = []
        for node in self.node_ids:
            t = totals.get(node) or sum_node_slot((), 0, 0)
            m = memory[node]
            c = self._counts.count
            nodes.append(
                ReclaimNode(
                    node=node,
                    kswapd_wakeups=c(("wake", node), t.kswapd_wakeups),
                    kswapd_awake_seconds=c(("awake", node), t.kswapd_awake_ns / 1e9),
                    kswapd_awake=t.kswapd_awake,
                    pages_scanned=c(("scan", node), sum(t.scanned)),
                    pages_reclaimed=c(("steal", node), sum(t.reclaimed)),
                    direct_reclaim_stalls=c(("dstall", node), t.stalls[KIND_DIRECT]),
                    direct_reclaim_pages=c(("dsteal", node), t.stall_reclaimed[KIND_DIRECT]),
                    node_reclaim_events=c(("nrecl", node), t.stalls[KIND_NODE]),
                    compaction_stalls=c(("compact", node), t.compaction_stalls),
                    free_bytes=m.free_bytes,
                    file_bytes=m.file_bytes,
                    anon_bytes=m.anon_bytes,
                    watermark_min_bytes=m.watermark_min_bytes,
                    watermark_low_bytes=m.watermark_low_bytes,
                    watermark_high_bytes=m.watermark_high_bytes,
                )
            )
        return ReclaimReading(tuple(nodes), self._stall_rows(), totals)

    def node_totals(self) -> dict[int, NodeTotals]:
        """Raw running totals per node id (-1: a node beyond the compiled slots).

        Reading them changes nothing, so a test can hold them against the kernel's
        own counters between polls."""
        stats = self.tables["node_stats"]
        since = self.tables["kswapd_since"]
        now = time.monotonic_ns()  # CLOCK_MONOTONIC, as bpf_ktime_get_ns
        out = {}
        for slot in range(self.layout.node_slots):
            started = int(_value(since[slot]))
            out[self.layout.node_of_slot(slot)] = sum_node_slot(stats[slot], started, now)
        return out

    def _drain_stallers(self) -> None:
        old = self._epoch
        self._epoch ^= 1
        epoch_table = self.tables["epoch"]
        epoch_table[0] = epoch_table.Leaf(self._epoch)
        # Programs that read the old epoch finish within microseconds.
        time.sleep(self.settle_seconds)
        for k, v in _take_all(self.tables[f"stallers{old}"]):
            self._absorb(StallerKey(k.tgid, k.kind, k.cpu_node), v)
        overflow = self.tables["stall_overflow"]
        value = overflow[old]
        if value.stalls:
            self._absorb(StallerKey(OVERFLOW_TGID, KIND_DIRECT, -1), value)
            overflow[old] = overflow.Leaf()

    def _absorb(self, key: StallerKey, v: Any) -> None:
        totals = self._stallers.setdefault(key, StallerTotals())
        totals.stalls += v.stalls
        totals.reclaimed += v.reclaimed
        totals.stall_ns += v.stall_ns
        totals.slots = add_slots(totals.slots, list(v.slots))
        comm = bytes(v.comm).split(b"\0", 1)[0]
        if comm:
            totals.comm = comm

    def _stall_rows(self) -> tuple[DirectReclaim, ...]:
        rows = []
        for key, t in sorted(self._stallers.items()):
            overflow = key.tgid == OVERFLOW_TGID
            c = self._counts.count
            rows.append(
                DirectReclaim(
                    workload_key="other" if overflow else f"pid:{key.tgid}",
                    workload_name="[other]" if overflow else decode_comm(t.comm),
                    node=key.cpu_node,
                    stalls=c(("wstall", key), t.stalls),
                    pages_reclaimed=c(("wsteal", key), t.reclaimed),
                    stall_seconds=log2_histogram(t.slots, STALL_UNIT_SECONDS, t.stall_ns / 1e9),
                    pid=None if overflow else key.tgid,
                    cause=KINDS[key.kind] if 0 <= key.kind < len(KINDS) else "other",
                )
            )
        return tuple(rows)


def kswapd_totals(reading: ReclaimReading, node: int) -> tuple[int, int]:
    """(pages scanned, pages reclaimed) by kswapd on `node`: pgscan/pgsteal_kswapd's share."""
    t = reading.totals.get(node)
    return (t.scanned[KIND_KSWAPD], t.reclaimed[KIND_KSWAPD]) if t else (0, 0)


def memcg_totals(reading: ReclaimReading, node: int) -> tuple[int, int]:
    """(pages scanned, pages reclaimed) on `node` by tasks at a cgroup limit."""
    t = reading.totals.get(node)
    return (t.scanned[KIND_MEMCG], t.reclaimed[KIND_MEMCG]) if t else (0, 0)


def _value(leaf: Any) -> Any:
    return getattr(leaf, "value", leaf)


def _take_all(table: Any) -> Iterator[tuple[Any, Any]]:
    """Read and delete every entry (stall hashes are small: per-key calls suffice)."""
    items = list(table.items())
    for k, _ in items:
        table.pop(k, None)
    yield from items
