"""Allocator section of `numascope snapshot`'s text output."""

from __future__ import annotations

from numascope.snapshot.model import ORDER_CLASSES, Snapshot

TOP_SITES = 5
TOP_CACHES = 8


def _pct(ratio: float) -> str:
    return f"{100 * ratio:5.1f}%"


def allocator_lines(snapshot: Snapshot) -> list[str]:
    """Per-CPU page lists per node, failures and high-order call sites, slab caches."""
    section = snapshot.allocator
    if section is None:
        return []
    lines = [
        "",
        f"page lists (last interval) {'node':>4} {'alloc':>9} {'refill':>9} {'direct':>7} "
        f"{'drained':>8} {'zonelock%':>9}",
    ]
    for n in section.page_cache:
        lines.append(
            f"{'':27} {n.node:>4} {n.alloc_pages.delta:>9.0f} {n.refill_pages.delta:>9.0f} "
            f"{n.direct_pages.delta:>7.0f} {n.drained_pages.delta:>8.0f} "
            f"{_pct(n.zone_lock_share):>9}"
        )
    failed = [
        f"node {n.node}: "
        + " ".join(f"o{c}={n.failed_by_order[c].delta:.0f}" for c in ORDER_CLASSES)
        for n in section.nodes
        if any(c.delta for c in n.failed_by_order.values()) or n.kcompactd_wakes.delta
    ]
    stalls = section.compaction.get("compact_stall")
    if failed or (stalls and stalls.delta):
        lines.append("failed allocations by order, kcompactd: " + "; ".join(failed))
        if stalls is not None:
            lines.append(f"compaction stalls (host): {stalls.delta:.0f}")
    sites = [s for s in section.high_order_sites if s.events.delta][:TOP_SITES]
    if sites:
        lines.append("high-order call sites (last interval):")
        for s in sites:
            chain = " < ".join(s.frames[:4]) or "(no stack)"
            lines.append(
                f"  order {s.order_class:<4} node {s.node:>2} {s.events.delta:>6.0f}x "
                f"{s.workload_name[:16]:<16} {chain}"
            )
    caches = [c for c in section.slab_caches if c.objects.delta][:TOP_CACHES]
    if caches:
        lines.append(
            f"slab (last interval)  {'cache':<20} {'cpu node':>8} {'objects':>9} "
            f"{'any':>9} {'remote%':>7}"
        )
        for c in caches:
            lines.append(
                f"{'':21} {c.cache[:20]:<20} {c.cpu_node:>8} {c.objects.delta:>9.0f} "
                f"{c.any_node.delta:>9.0f} {_pct(c.remote_share):>7}"
            )
    return lines
