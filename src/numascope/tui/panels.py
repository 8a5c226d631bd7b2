"""Node, matrix, IRQ and reclaim panels, rendered from one snapshot.

Each function returns a Rich renderable; an empty section returns a sentence
saying what is missing, so a blank panel never looks like "all is well".
Remote shares carry a `*` as well as colour, for monochrome terminals.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from numascope.config import Thresholds
from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import Count, ReclaimNode
from numascope.tui.balancing import host_line, tier_suffix
from numascope.tui.format import finding_cell, human, percent, rate, size, sparkline
from numascope.tui.history import History


def _table(*headers: str) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False, pad_edge=False)
    for i, name in enumerate(headers):
        table.add_column(
            name,
            justify="left"
            if i == 0 or name in ("NAME", "DEVICE", "WORKLOAD", "KSWAPD", "PAGEDAEMON")
            else "right",
            no_wrap=True,
        )
    return table


def _kswapd(node: ReclaimNode | None, interval: float) -> str:
    if node is None:
        return "n/a"
    if node.kswapd_awake:
        return "AWAKE"
    if node.kswapd_wakeups.delta:
        return f"woke {rate(node.kswapd_wakeups.delta, interval)}/s"
    return "asleep"


def nodes_panel(snapshot: Snapshot, history: History, spark_width: int = 20) -> RenderableType:
    """Per node: allocation rate, local/remote share, free memory, kswapd, recent rate."""
    if not snapshot.nodes:
        return Text("No NUMA nodes in this snapshot.")
    reclaim = {r.node: r for r in snapshot.reclaim}
    events_only = not any(n.delta.pages or n.total.pages for n in snapshot.nodes)
    unit = "EV/s" if events_only else "PG/s"
    table = _table("NODE", unit, "LOCAL", "REMOTE", "FREE", "KSWAPD", "LAST " + _span(history))
    for node in snapshot.nodes:
        d = node.delta
        amount = d.events if events_only else d.pages
        remote = d.remote_events if events_only else d.remote_pages
        share = remote / amount if amount else 0.0
        label = f"{node.node}{tier_suffix(snapshot, node.node)}" + (
            " (no cpus)" if node.cpuless else ""
        )
        state = _kswapd(reclaim.get(node.node), snapshot.interval)
        table.add_row(
            label,
            rate(amount, snapshot.interval),
            percent(1 - share) if amount else "-",
            Text(
                percent(share) + ("*" if share >= 0.1 else " "),
                style="bold red" if share >= 0.1 else "",
            )
            if amount
            else "-",
            size(node.mem_free_bytes),
            Text(state, style="bold yellow" if state != "asleep" and state != "n/a" else ""),
            sparkline(history.node_rates(node.node), spark_width),
        )
    tiers = host_line(snapshot)
    return table if tiers is None else Group(table, tiers)


def _span(history: History) -> str:
    seconds = history.seconds
    return f"{seconds / 60:.0f}m" if seconds >= 120 else f"{seconds:.0f}s"


def matrix_panel(snapshot: Snapshot) -> RenderableType:
    """Pages per second from each page node (columns) to each CPU node (rows)."""
    if not snapshot.matrix:
        return Text(
            "No node-to-node matrix in this snapshot: it needs the page-allocation probe "
            "(kernel counters alone do not say which CPU node asked)."
        )
    cpu_nodes = sorted({c.cpu_node for c in snapshot.matrix})
    page_nodes = sorted({c.page_node for c in snapshot.matrix})
    cells = {(c.cpu_node, c.page_node): c for c in snapshot.matrix}
    table = _table("CPU\\PAGE", *(f"N{n}" if n >= 0 else "N?" for n in page_nodes), "REMOTE")
    for cpu in cpu_nodes:
        row_total = sum(cells[(cpu, p)].delta_pages for p in page_nodes if (cpu, p) in cells)
        row: list[RenderableType] = [f"N{cpu}"]
        remote = 0
        for page in page_nodes:
            cell = cells.get((cpu, page))
            pages = cell.delta_pages if cell else 0
            if page != cpu:
                remote += pages
            mark = "*" if page != cpu and pages else " "
            row.append(
                Text(
                    rate(pages, snapshot.interval) + "/s" + mark, style="red" if mark == "*" else ""
                )
            )
        row.append(percent(remote / row_total) if row_total else "-")
        table.add_row(*row)
    legend = Text(
        "rows: the node of the CPU that asked; columns: the node that gave the page; * remote"
    )
    return Group(table, Text(""), legend)


def _per_second(counts: Mapping[int, Count], interval: float) -> str:
    return " ".join(f"N{n}:{rate(c.delta, interval)}" for n, c in sorted(counts.items())) or "-"


def irq_panel(snapshot: Snapshot, thresholds: Thresholds) -> RenderableType:
    """Hard IRQs handled away from their device's node, worst first, then softirqs."""
    parts: list[RenderableType] = []
    irq_findings = {
        f.workload_key: f for f in snapshot.findings if f.workload_key.startswith("irq:")
    }
    if snapshot.irqs:
        table = _table("IRQ", "DEVICE", "DEV NODE", "HANDLED/s BY NODE", "REMOTE", "FLAG")
        ranked = sorted(snapshot.irqs, key=lambda q: (q.remote_share, q.irq), reverse=True)
        for irq in ranked:
            events = sum(c.delta for c in irq.count_by_node.values())
            finding = irq_findings.get(f"irq:{irq.irq}")
            if finding is not None:
                flag, style = finding_cell(finding)
            elif (
                irq.remote_share >= thresholds.irq.remote_ratio_warning
                and events >= thresholds.irq.min_events
            ):
                flag, style = f"▲ remote {percent(irq.remote_share)}", "yellow"
            else:
                flag, style = "ok", "dim"
            table.add_row(
                str(irq.irq),
                irq.name[:24],
                str(irq.device_node) if irq.device_node >= 0 else "?",
                _per_second(irq.count_by_node, snapshot.interval),
                percent(irq.remote_share) if irq.device_node >= 0 and events else "-",
                Text(flag, style=style),
            )
        parts.append(table)
    else:
        parts.append(Text("No IRQ data in this snapshot: the interrupt probe is not attached."))
    parts.append(Text(""))
    if snapshot.softirqs:
        soft = _table("SOFTIRQ", "HANDLED/s BY NODE")
        for s in snapshot.softirqs:
            soft.add_row(s.vector, _per_second(s.count_by_node, snapshot.interval))
        parts.append(soft)
    else:
        parts.append(Text("No softirq data in this snapshot."))
    return Group(*parts)


def reclaim_panel(snapshot: Snapshot) -> RenderableType:
    """Reclaim per node, then direct-reclaim stalls per workload."""
    interval = snapshot.interval
    parts: list[RenderableType] = []
    if snapshot.reclaim:
        # FreeBSD: one page daemon per domain, whose laundry cleans dirty pages.
        freebsd = snapshot.host.platform == "freebsd"
        table = _table(
            "NODE",
            "PAGEDAEMON" if freebsd else "KSWAPD",
            "WAKE/s",
            "SCAN/s",
            "RECL/s",
            *(("LAUNDER/s",) if freebsd else ()),
            "DIRECT/s",
            "COMPACT/s",
            "FREE",
            "LOW WMARK",
        )
        for r in snapshot.reclaim:
            low = r.free_bytes and r.watermark_low_bytes and r.free_bytes <= r.watermark_low_bytes
            table.add_row(
                str(r.node),
                Text(_kswapd(r, interval), style="bold yellow" if r.under_reclaim else ""),
                rate(r.kswapd_wakeups.delta, interval),
                rate(r.pages_scanned.delta, interval),
                rate(r.pages_reclaimed.delta, interval),
                *((rate(r.laundered_pages.delta, interval),) if freebsd else ()),
                Text(
                    rate(r.direct_reclaim_stalls.delta, interval)
                    + ("!" if r.direct_reclaim_stalls.delta else " "),
                    style="bold red" if r.direct_reclaim_stalls.delta else "",
                ),
                rate(r.compaction_stalls.delta, interval),
                Text(size(r.free_bytes) + ("!" if low else " "), style="bold red" if low else ""),
                size(r.watermark_low_bytes),
            )
        parts.append(table)
    else:
        parts.append(
            Text("No reclaim data in this snapshot: the page-daemon probe is not attached.")
        )
    parts.append(Text(""))
    if snapshot.direct_reclaim:
        stalls = _table("WORKLOAD", "PID", "NODE", "STALLS/s", "STALLS", "PAGES", "MEAN STALL")
        ranked = sorted(
            snapshot.direct_reclaim, key=lambda d: (d.stalls.delta, d.stalls.total), reverse=True
        )
        for d in ranked:
            hist = d.stall_seconds
            mean = f"{1000 * hist.sum_seconds / hist.count:.1f}ms" if hist.count else "-"
            stalls.add_row(
                d.workload_name[:20],
                str(d.pid) if d.pid is not None else "-",
                str(d.node),
                rate(d.stalls.delta, interval),
                human(d.stalls.total),
                human(d.pages_reclaimed.total),
                mean,
            )
        parts.append(Text("Direct reclaim stalls per workload", style="bold"))
        parts.append(stalls)
    else:
        parts.append(Text("No direct-reclaim stalls recorded in this snapshot."))
    return Group(*parts)
