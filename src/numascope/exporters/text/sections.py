"""Reclaim and interrupt sections of `numascope snapshot`'s text output."""

from __future__ import annotations

from collections.abc import Mapping

from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import Count

TOP_IRQS = 10


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f}M"


def _deltas(by_node: Mapping[int, Count]) -> float:
    return sum(c.delta for c in by_node.values())


def _by_node(by_node: Mapping[int, Count], node_ids: tuple[int, ...]) -> str:
    return " ".join(f"{by_node[n].delta if n in by_node else 0:>8.0f}" for n in node_ids)


def reclaim_lines(snapshot: Snapshot) -> list[str]:
    """Per node: kswapd, pages scanned/reclaimed, stalls, memory against watermarks."""
    if not snapshot.reclaim:
        return []
    lines = [
        "",
        f"reclaim (last interval)  {'node':>4} {'kswapd':>6} {'awake':>6} {'scanned':>8} "
        f"{'reclaimed':>9} {'direct':>6} {'nodercl':>7} {'compact':>7} "
        f"{'free':>7} {'file':>7} {'anon':>7} {'min/low/high':>16}",
    ]
    for r in snapshot.reclaim:
        awake = f"{r.kswapd_awake_seconds.delta:.2f}s" + ("*" if r.kswapd_awake else "")
        marks = (
            f"{_mib(r.watermark_min_bytes)}/{_mib(r.watermark_low_bytes)}/"
            f"{_mib(r.watermark_high_bytes)}"
        )
        lines.append(
            f"{'':24} {r.node:>4} {r.kswapd_wakeups.delta:>6.0f} {awake:>6} "
            f"{r.pages_scanned.delta:>8.0f} {r.pages_reclaimed.delta:>9.0f} "
            f"{r.direct_reclaim_stalls.delta:>6.0f} {r.node_reclaim_events.delta:>7.0f} "
            f"{r.compaction_stalls.delta:>7.0f} {_mib(r.free_bytes):>7} {_mib(r.file_bytes):>7} "
            f"{_mib(r.anon_bytes):>7} {marks:>16}"
        )
    stalled = [d for d in snapshot.direct_reclaim if d.stalls.delta]
    if stalled:
        lines.append(
            f"reclaim stalls (last interval)  {'pid':>7} {'comm':<16} {'cause':<6} {'node':>4} "
            f"{'stalls':>6} {'pages':>8} {'mean':>9}"
        )
        stalled.sort(key=lambda d: d.stalls.delta, reverse=True)
        for d in stalled[:TOP_IRQS]:
            h = d.stall_seconds
            mean = h.sum_seconds / h.count if h.count else 0.0
            pid = str(d.pid) if d.pid is not None else "-"
            lines.append(
                f"{'':31} {pid:>7} {d.workload_name[:16]:<16} {d.cause:<6} {d.node:>4} "
                f"{d.stalls.delta:>6.0f} {d.pages_reclaimed.delta:>8.0f} {mean * 1e3:>7.2f}ms"
            )
    return lines


def irq_lines(snapshot: Snapshot, limit: int = TOP_IRQS) -> list[str]:
    """The busiest IRQs by node handled against their device's node, then softirqs."""
    node_ids = snapshot.node_ids
    header = " ".join(f"{'n' + str(n):>8}" for n in node_ids)
    lines: list[str] = []
    busy = sorted(
        (i for i in snapshot.irqs if _deltas(i.count_by_node)),
        key=lambda i: _deltas(i.count_by_node),
        reverse=True,
    )
    if busy:
        lines += [
            "",
            f"irqs (last interval)  {'irq':>5} {'name':<20} {'dev':>3} {header} "
            f"{'remote%':>7} {'time':>8}",
        ]
        for i in busy[:limit]:
            dev = str(i.device_node) if i.device_node >= 0 else "?"
            remote = f"{100 * i.remote_share:5.1f}%" if i.device_node >= 0 else "-"
            seconds = _deltas(i.seconds_by_node)
            lines.append(
                f"{'':21} {i.irq:>5} {i.name[:20]:<20} {dev:>3} "
                f"{_by_node(i.count_by_node, node_ids)} {remote:>7} {seconds * 1e3:>6.2f}ms"
            )
    active = [s for s in snapshot.softirqs if _deltas(s.count_by_node)]
    if active:
        lines.append(f"softirqs (last interval)  {'vector':<8} {header} {'time':>8}")
        for s in active:
            seconds = _deltas(s.seconds_by_node)
            lines.append(
                f"{'':25} {s.vector:<8} {_by_node(s.count_by_node, node_ids)} "
                f"{seconds * 1e3:>6.2f}ms"
            )
    return lines
