"""Plain-text rendering of a snapshot, as `numascope snapshot` prints it."""

from __future__ import annotations

import time

from numascope.exporters.text.allocator import allocator_lines
from numascope.exporters.text.balancing import balancing_lines
from numascope.exporters.text.sections import irq_lines, reclaim_lines
from numascope.snapshot.model import Snapshot, Workload, WorkloadKind
from numascope.topology import format_list


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f}G"


def _pct(ratio: float) -> str:
    return f"{100 * ratio:5.1f}%"


def top_workloads(snapshot: Snapshot, limit: int) -> list[Workload]:
    """Workloads ranked by remote pages in the last interval, then by pages."""
    active = [w for w in snapshot.processes if w.delta.pages]
    active.sort(key=lambda w: (w.delta.remote_pages, w.delta.pages), reverse=True)
    return active[:limit]


def render(snapshot: Snapshot, top: int = 10) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snapshot.time))
    interval = max(snapshot.interval, 1e-9)
    lines = [
        f"numascope {stamp}  host {snapshot.host.hostname}  kernel {snapshot.host.kernel}  "
        f"interval {snapshot.interval:.2f}s  source {snapshot.source}"
    ]
    lines.append(
        f"{'node':>4} {'cpus':<9} {'pages/s':>9} {'local':>9} {'remote':>9} {'remote%':>7} "
        f"{'kernel ev':>9} {'free':>7}"
    )
    kernel = {k.node: k for k in snapshot.kernel}
    for node in snapshot.nodes:
        cpus = format_list(node.cpus)
        k = kernel.get(node.node)
        kernel_events = k.delta.get("local_node", 0) + k.delta.get("other_node", 0) if k else 0
        lines.append(
            f"{node.node:>4} {cpus or 'none':<9} {node.delta.pages / interval:>9.0f} "
            f"{node.delta.local_pages:>9} {node.delta.remote_pages:>9} "
            f"{_pct(node.delta.remote_ratio):>7} {kernel_events:>9} "
            f"{_gib(node.mem_free_bytes):>7}"
        )
    workloads = top_workloads(snapshot, top)
    if workloads:
        node_ids = snapshot.node_ids
        header = " ".join(f"{'n' + str(n):>8}" for n in node_ids)
        lines.append("")
        lines.append(
            f"top workloads (last interval)  {'pid':>7} {'comm':<18} {'pages':>8} {header} "
            f"{'remote%':>7}  cgroup"
        )
        for w in workloads:
            by_node = " ".join(f"{w.delta.pages_by_node.get(n, 0):>8}" for n in node_ids)
            pid = str(w.pid) if w.pid is not None and w.kind is not WorkloadKind.OTHER else "-"
            lines.append(
                f"{'':29}  {pid:>7} {w.name[:18]:<18} {w.delta.pages:>8} {by_node} "
                f"{_pct(w.delta.remote_ratio):>7}  {w.cgroup or '-'}"
            )
    lines += reclaim_lines(snapshot)
    lines += irq_lines(snapshot)
    lines += allocator_lines(snapshot)
    lines += balancing_lines(snapshot)
    if snapshot.findings:
        lines.append("")
        lines.append("findings:")
        for f in snapshot.findings:
            lines.append(f"  [{f.severity.value}] {f.workload_name} ({f.rule}): {f.message}")
    for note in snapshot.health.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
