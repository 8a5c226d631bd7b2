"""The report's Allocator section: per-CPU page lists, failures, high-order sites, slab.

Present only when the capture recorded the allocator family. Figures are for the
whole capture: the probes start with the capture, so a running total in the last
snapshot is what the capture saw. Slab caches are ranked per interval by the
collector, so a cache is taken from the last snapshot that listed it.
"""

from __future__ import annotations

from numascope.capture.model import Capture
from numascope.exporters.call_sites import call_site
from numascope.exporters.report.model import Section, Table
from numascope.snapshot.model import ORDER_CLASSES, Snapshot
from numascope.snapshot.sections import AllocatorSection, SlabCache

TOP_SITES = 10
TOP_CACHES = 15
FRAMES_SHOWN = 6
COMPACTION = ("compact_stall", "compact_fail", "compact_success", "compact_daemon_wake")


def _share(part: float, whole: float) -> str:
    return f"{100 * min(1.0, part / whole):.1f}%" if whole else "-"


def _sections(capture: Capture) -> list[tuple[Snapshot, AllocatorSection]]:
    return [(s, s.allocator) for s in capture.snapshots if s.allocator is not None]


def _page_lists(recorded: list[tuple[Snapshot, AllocatorSection]]) -> Table:
    last = recorded[-1][1]
    worst: dict[int, float] = {}
    for _, section in recorded:
        for p in section.page_cache:
            worst[p.node] = max(worst.get(p.node, 0.0), p.zone_lock_share)
    return Table(
        "Per-CPU page lists per node, whole capture (zone lock: pages taken from the "
        "buddy lists under the zone lock, per page allocated)",
        (
            "node",
            "pages allocated",
            "refilled",
            "direct",
            "drained",
            "zone-lock share",
            "worst interval",
        ),
        tuple(
            (
                str(p.node),
                f"{p.alloc_pages.total:,.0f}",
                f"{p.refill_pages.total:,.0f}",
                f"{p.direct_pages.total:,.0f}",
                f"{p.drained_pages.total:,.0f}",
                _share(p.refill_pages.total + p.direct_pages.total, p.alloc_pages.total),
                f"{100 * worst.get(p.node, 0.0):.1f}%",
            )
            for p in last.page_cache
        ),
        "No per-CPU page list data (the allocator probe did not attach).",
    )


def _failures(last: AllocatorSection) -> Table:
    return Table(
        "Failed allocations by order class (node of the asking CPU) and kcompactd "
        "wake-ups, whole capture",
        ("node", *(f"order {c}" for c in ORDER_CLASSES), "kcompactd wake-ups"),
        tuple(
            (
                str(n.node),
                *(
                    f"{n.failed_by_order[c].total:,.0f}" if c in n.failed_by_order else "0"
                    for c in ORDER_CLASSES
                ),
                f"{n.kcompactd_wakes.total:,.0f}",
            )
            for n in last.nodes
        ),
        "No failure counts recorded.",
    )


def _sites(last: AllocatorSection) -> Table:
    sites = sorted(last.high_order_sites, key=lambda s: s.pages.total, reverse=True)
    return Table(
        "Top high-order call sites (order 4 and up) by pages, whole capture",
        ("order", "page node", "workload", "events", "pages", "call site", "kernel frames"),
        tuple(
            (
                s.order_class,
                str(s.node) if s.node >= 0 else "unknown",
                s.workload_name + (f" (pid {s.pid})" if s.pid is not None else ""),
                f"{s.events.total:,.0f}",
                f"{s.pages.total:,.0f}",
                call_site(s.frames),
                " < ".join(s.frames[:FRAMES_SHOWN]) or "-",
            )
            for s in sites[:TOP_SITES]
        ),
        "No high-order allocation recorded.",
    )


def _slab(recorded: list[tuple[Snapshot, AllocatorSection]]) -> Table:
    latest: dict[tuple[str, int], SlabCache] = {}
    for _, section in recorded:
        for c in section.slab_caches:
            latest[(c.cache, c.cpu_node)] = c
    caches = sorted(latest.values(), key=lambda c: c.objects.total, reverse=True)
    return Table(
        "Slab caches by CPU node and the node requested, whole capture (top caches)",
        ("cache", "CPU node", "objects", "any node", "local", "remote", "remote share"),
        tuple(
            (
                c.cache,
                str(c.cpu_node),
                f"{c.objects.total:,.0f}",
                f"{c.any_node.total:,.0f}",
                f"{c.local_requested.total:,.0f}",
                f"{c.remote_requested.total:,.0f}",
                _share(c.remote_requested.total, c.objects.total),
            )
            for c in caches[:TOP_CACHES]
        ),
        "No slab data (the slab probe is opt-in: --probes ...,slab).",
    )


def _compaction_line(capture: Capture) -> str:
    before, after = capture.header.vmstat_before, capture.header.vmstat_after
    if not any(k in after for k in COMPACTION):
        return "Compaction (/proc/vmstat): not recorded in this capture."
    moved = ", ".join(f"{k} {after.get(k, 0) - before.get(k, 0):,}" for k in COMPACTION)
    return f"Compaction over the capture (/proc/vmstat, end minus start): {moved}"


def allocator_section(capture: Capture) -> Section | None:
    """The Allocator section, or None when no snapshot of the capture has one."""
    recorded = _sections(capture)
    if not recorded:
        return None
    last = recorded[-1][1]
    return Section(
        "Allocator",
        lines=(_compaction_line(capture),),
        tables=(_page_lists(recorded), _failures(last), _sites(last), _slab(recorded)),
    )
