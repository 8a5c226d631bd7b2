"""The report's sections, as tables of text, from a capture read back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping

from numascope.capture.model import Capture, ProcessFacts
from numascope.exporters.report.model import Section, SeenFinding, Table, ratio, who
from numascope.exporters.report.pods import any_pods, pod_cell, pods_table
from numascope.snapshot.model import Snapshot, Workload
from numascope.topology import format_list

TOP = 10
# /proc/vmstat counters that tell a NUMA story (migration, balancing, reclaim).
VMSTAT_PREFIXES = (
    "numa_",
    "pgmigrate",
    "pgdemote",
    "pgpromote",
    "pgscan",
    "pgsteal",
    "allocstall",
    "compact_",
    "thp_migration",
    "zone_reclaim",
)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def nodelist(values: Iterable[int]) -> str:
    """A cpu or node list in the kernel's syntax, "-" when empty."""
    return format_list(values) or "-"


def _by_node(values: Mapping[int, int], nodes: Iterable[int]) -> tuple[str, ...]:
    return tuple(f"{values.get(n, 0):,}" for n in nodes)


def _evidence(evidence: Mapping[str, object]) -> str:
    return "; ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in evidence.items())


def findings_section(findings: list[SeenFinding]) -> Section:
    rows = tuple(
        (
            s.finding.severity.value,
            s.finding.kind,
            who(s.finding),
            s.finding.rule,
            f"{s.snapshots} ({s.first:.0f}-{s.last:.0f} s)",
            s.finding.message,
            _evidence(s.finding.evidence),
        )
        for s in findings
    )
    headers = ("severity", "kind", "workload", "rule", "snapshots", "message", "evidence")
    return Section("Findings", tables=(Table("", headers, rows, "No finding against the policy."),))


def matrix_section(last: Snapshot, capture: Capture) -> Section:
    nodes = last.node_ids
    page_nodes = sorted({c.page_node for c in last.matrix} | set(nodes))
    cells = {(c.cpu_node, c.page_node): c.total_pages for c in last.matrix}
    matrix = Table(
        "Pages by CPU node (rows) and page node (columns), whole capture",
        ("CPU node", *(f"node {p}" if p >= 0 else "unknown" for p in page_nodes)),
        tuple(
            (str(cpu), *(f"{cells.get((cpu, p), 0):,}" for p in page_nodes))
            for cpu in sorted({c.cpu_node for c in last.matrix})
        ),
    )
    before = capture.header.numastat_before
    after = capture.header.numastat_after

    def kernel_events(node: int) -> str:
        a, b = after.get(node, {}), before.get(node, {})
        if not a:
            return "-"
        added = sum(a.get(k, 0) - b.get(k, 0) for k in ("local_node", "other_node"))
        return f"{added:,}"

    per_node = Table(
        "Nodes as page suppliers, whole capture",
        ("node", "CPUs", "pages", "local", "remote", "remote %", "kernel events", "free at end"),
        tuple(
            (
                str(n.node),
                nodelist(n.cpus) if n.cpus else "none (memory only)",
                f"{n.total.pages:,}",
                f"{n.total.local_pages:,}",
                f"{n.total.remote_pages:,}",
                pct(ratio(n.total)),
                kernel_events(n.node),
                f"{n.mem_free_bytes / 2**30:.1f} GiB",
            )
            for n in last.nodes
        ),
    )
    return Section("Node matrix", tables=(per_node, matrix))


def _clip(text: str, limit: int = 160) -> str:
    # Whole command lines stay in the capture; a table cell needs only the gist.
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _facts_by_pid(capture: Capture) -> dict[int, ProcessFacts]:
    return {p.pid: p for p in capture.header.workloads}


def top_workloads(last: Snapshot, limit: int = TOP) -> list[Workload]:
    active = [w for w in last.processes if w.total.pages or w.total.events]
    active.sort(key=lambda w: (w.total.remote_pages, w.total.pages), reverse=True)
    return active[:limit]


def workloads_section(last: Snapshot, capture: Capture) -> Section:
    nodes = last.node_ids
    facts = _facts_by_pid(capture)
    top = top_workloads(last)
    # A pod column only where a top workload is in a pod: other reports stay as they were.
    pods = any_pods(top)
    rows = []
    for w in top:
        f = facts.get(w.pid) if w.pid is not None else None
        rows.append(
            (
                str(w.pid) if w.pid is not None else "-",
                w.name,
                w.kind.value + ("" if w.alive else " (exited)"),
                f"{w.total.pages:,}",
                *_by_node(w.total.pages_by_node, nodes),
                pct(ratio(w.total)),
                w.cgroup or "-",
                *((pod_cell(w),) if pods else ()),
                f.dominant_policy if f else "-",
                f"cpus {nodelist(f.cpus_allowed)} mems {nodelist(f.mems_allowed)}" if f else "-",
                _clip(" ".join(f.cmdline)) if f and f.cmdline else "-",
            )
        )
    headers = (
        "pid",
        "comm",
        "kind",
        "pages",
        *(f"node {n}" for n in nodes),
        "remote %",
        "cgroup",
        *(("pod",) if pods else ()),
        "kernel policy",
        "allowed",
        "command line",
    )
    table = Table("Top workloads by remote pages, whole capture", headers, tuple(rows))
    resident = Table(
        "Resident bytes per node (numa_maps) of the top workloads",
        ("pid", "comm", "read at snapshot", *(f"node {n}" for n in nodes), "policies"),
        tuple(
            (
                str(f.pid),
                f.comm,
                str(f.read_at_seq),
                *_by_node(f.resident_bytes_by_node, nodes),
                ", ".join(f"{k}: {v:,} bytes" for k, v in f.bytes_by_policy.items()),
            )
            for f in capture.header.workloads
        ),
    )
    by_pod = pods_table(last, TOP)
    tables = (table, resident) if by_pod is None else (table, by_pod, resident)
    return Section("Top workloads", tables=tables)


def _vmstat_deltas(capture: Capture) -> dict[str, int]:
    before, after = capture.header.vmstat_before, capture.header.vmstat_after
    return {
        k: v - before.get(k, 0)
        for k, v in sorted(after.items())
        if k.startswith(VMSTAT_PREFIXES) and v != before.get(k, 0)
    }


def reclaim_section(last: Snapshot, capture: Capture) -> Section:
    nodes = Table(
        "Page daemon and reclaim per node, whole capture",
        (
            "node",
            "kswapd wakeups",
            "kswapd awake s",
            "scanned",
            "reclaimed",
            "direct stalls",
            "direct pages",
            "compaction stalls",
        ),
        tuple(
            (
                str(r.node),
                f"{r.kswapd_wakeups.total:,.0f}",
                f"{r.kswapd_awake_seconds.total:.2f}",
                f"{r.pages_scanned.total:,.0f}",
                f"{r.pages_reclaimed.total:,.0f}",
                f"{r.direct_reclaim_stalls.total:,.0f}",
                f"{r.direct_reclaim_pages.total:,.0f}",
                f"{r.compaction_stalls.total:,.0f}",
            )
            for r in last.reclaim
        ),
        "No reclaim probe data in this capture.",
    )
    direct = Table(
        "Workloads stalled in direct reclaim",
        ("workload", "node", "stalls", "pages reclaimed", "stall seconds"),
        tuple(
            (
                d.workload_name + (f" (pid {d.pid})" if d.pid is not None else ""),
                str(d.node),
                f"{d.stalls.total:,.0f}",
                f"{d.pages_reclaimed.total:,.0f}",
                f"{d.stall_seconds.sum_seconds:.3f}",
            )
            for d in sorted(last.direct_reclaim, key=lambda d: d.stalls.total, reverse=True)[:TOP]
        ),
        "No direct-reclaim stall recorded.",
    )
    vmstat = Table(
        "Kernel counters that moved (/proc/vmstat, end minus start)",
        ("counter", "added"),
        tuple((k, f"{v:,}") for k, v in _vmstat_deltas(capture).items()),
        "None of the NUMA, migration or reclaim counters moved.",
    )
    return Section("Reclaim", tables=(nodes, direct, vmstat))


def irq_section(last: Snapshot, capture: Capture) -> Section:
    nodes = last.node_ids
    handled = Table(
        "Interrupts handled per node, whole capture",
        ("irq", "name", "device node", "affinity", *(f"node {n}" for n in nodes), "off-node"),
        tuple(
            (
                str(i.irq),
                i.name,
                str(i.device_node) if i.device_node >= 0 else "unknown",
                nodelist(i.affinity),
                *(
                    f"{i.count_by_node[n].total:,.0f}" if n in i.count_by_node else "0"
                    for n in nodes
                ),
                pct(_off_node(i.device_node, {n: c.total for n, c in i.count_by_node.items()})),
            )
            for i in last.irqs
        ),
        "No interrupt probe data in this capture.",
    )
    softirqs = Table(
        "Softirqs handled per node, whole capture",
        ("vector", *(f"node {n}" for n in nodes)),
        tuple(
            (
                s.vector,
                *(
                    f"{s.count_by_node[n].total:,.0f}" if n in s.count_by_node else "0"
                    for n in nodes
                ),
            )
            for s in last.softirqs
        ),
        "No softirq probe data in this capture.",
    )
    placed = [i for i in capture.header.irqs if i.node >= 0 or i.name]
    affinity = Table(
        "IRQ affinity and device nodes at capture time",
        ("irq", "name", "device node", "affinity", "effective", "description"),
        tuple(
            (
                str(i.irq),
                i.name or "-",
                str(i.node) if i.node >= 0 else "unknown",
                nodelist(i.affinity),
                nodelist(i.effective_affinity),
                i.description or "-",
            )
            for i in placed
        ),
    )
    devices = Table(
        "PCI devices and their nodes",
        ("device", "node", "driver", "class"),
        tuple(
            (d.address, str(d.node) if d.node >= 0 else "unknown", d.driver or "-", d.device_class)
            for d in capture.header.devices
        ),
    )
    return Section("IRQs", tables=(handled, softirqs, affinity, devices))


def _off_node(device_node: int, counts: Mapping[int, float]) -> float | None:
    total = sum(counts.values())
    if device_node < 0 or not total:
        return None
    return sum(v for n, v in counts.items() if n != device_node) / total


def system_section(capture: Capture) -> Section:
    h = capture.header
    lines = (
        f"Host: {h.host}; kernel {h.kernel} ({h.kernel_version}) on {h.machine or '?'}",
        f"Kernel command line: `{h.kernel_cmdline or '-'}`",
        f"numascope {h.numascope_version}, source {h.source or '?'}, capture format "
        f"{capture.version}{', redacted' if h.redacted else ''}",
        f"Policy: {h.policy_path or 'built-in default'}",
        *(f"Note: {n}" for n in h.notes),
    )
    tables = []
    if h.topology is not None:
        ids = h.topology.node_ids
        tables.append(
            Table(
                "Topology: node distances",
                ("node", "CPUs", "memory", *(f"to {n}" for n in ids)),
                tuple(
                    (
                        str(n.id),
                        nodelist(n.cpus) if n.cpus else "none",
                        f"{n.mem_total_bytes / 2**30:.1f} GiB",
                        *(str(n.distances.get(o, "-")) for o in ids),
                    )
                    for n in h.topology.nodes
                ),
            )
        )
    tables.append(Table("NUMA sysctls", ("setting", "value"), tuple(sorted(h.sysctls.items()))))
    keys = sorted({k for c in h.numastat_after.values() for k in c})
    tables.append(
        Table(
            "numastat per node (end minus start)",
            ("node", *keys),
            tuple(
                (
                    str(node),
                    *(
                        f"{after.get(k, 0) - h.numastat_before.get(node, {}).get(k, 0):,}"
                        for k in keys
                    ),
                )
                for node, after in sorted(h.numastat_after.items())
            ),
        )
    )
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(h.created)) if h.created else "?"
    return Section(
        "System facts",
        lines=(f"Captured: {started}", *lines),
        tables=tuple(tables),
        code=json.dumps(h.policy, indent=2, sort_keys=False) if h.policy else "",
    )


def health_section(capture: Capture) -> Section:
    last = capture.snapshots[-1]
    health = last.health
    per_event = (
        f"{health.bpf_run_ns / health.bpf_run_count:.0f} ns per probe run "
        "(kernel-timed, reads high in VMs: BENCHMARKS.md has what a workload pays)"
        if health.bpf_run_count
        else "not measured"
    )
    lines = (
        f"Probes attached: {', '.join(health.probes_attached) or 'none'}",
        *(f"Probe missing: {k}: {v}" for k, v in health.probes_missing.items()),
        f"Owner map: {health.map_peak_entries:,} of {health.map_capacity:,} entries at peak; "
        f"{health.overflow_pages:,} pages counted under 'other'",
        f"Recursion misses: {health.recursion_misses:,}; probe cost {per_event}",
        *(f"Note: {n}" for n in health.notes),
    )
    return Section("numascope health", lines=lines)
