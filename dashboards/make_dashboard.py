"""Writes dashboards/numascope.json (run it after changing a panel).

    .venv/bin/python dashboards/make_dashboard.py

The dashboard is generated so that every query is written once, here, and the
tests can read the same JSON Grafana imports. The datasource is a template
variable (no `__inputs`), so the file imports as is into any Grafana.

Each query carries the unit of what it measures (pages per second, a share
0..1, seconds, bytes); a panel whose queries measure different things puts
the second kind on the right axis, so pages and seconds never share one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEL = 'job=~"$job", instance=~"$instance"'
RI = "$__rate_interval"
REMOTE = 'locality="remote"'
DS = {"type": "prometheus", "uid": "${datasource}"}

# Units, as Grafana names them; a rate of things Grafana has no unit for is
# shown with its own suffix.
PAGES = "suffix: pages/s"
EVENTS = "suffix: events/s"
WAKEUPS = "suffix: wake-ups/s"
STALLS = "suffix: stalls/s"
HANDLINGS = "suffix: handlings/s"
SHARE = "percentunit"  # a ratio 0..1, or seconds per second (share of one CPU)
SECONDS = "s"
BYTES = "bytes"
COUNT = "none"  # a plain number: findings, 0/1 states, overflowed events

WIDTH = 24


def target(
    expr: str, legend: str = "", unit: str | None = None, instant: bool = False
) -> dict[str, Any]:
    """One query; `unit` only when it differs from the panel's."""
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": "A", "legendFormat": legend}
    if instant:
        t.update(instant=True, range=False, format="table")
    if unit is not None:
        t["unit"] = unit  # moved into a field override by panel()
    return t


def panel(
    title: str,
    kind: str,
    targets: list[dict[str, Any]],
    size: tuple[int, int],
    unit: str,
    description: str,
    **options: Any,
) -> dict[str, Any]:
    """A panel of `size` (width, height); its place is set by the layout."""
    overrides = []
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
        own = t.pop("unit", None)
        if own is not None and own != unit:
            properties: list[dict[str, Any]] = [{"id": "unit", "value": own}]
            if kind == "timeseries":
                properties.append({"id": "custom.axisPlacement", "value": "right"})
            overrides.append(
                {"matcher": {"id": "byFrameRefID", "options": t["refId"]}, "properties": properties}
            )
    defaults: dict[str, Any] = {"unit": unit}
    if unit == SHARE:
        defaults.update(min=0)
    if unit == COUNT:
        defaults.update(decimals=0)
    p: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": 0, "y": 0, "w": size[0], "h": size[1]},
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "targets": targets,
    }
    p.update(options)
    return p


def row(title: str) -> dict[str, Any]:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "panels": [],
        "gridPos": {"x": 0, "y": 0, "w": WIDTH, "h": 1},
    }


def rate(metric: str, extra: str = "") -> str:
    labels = f"{SEL}, {extra}" if extra else SEL
    return f"rate({metric}{{{labels}}}[{RI}])"


def fleet() -> list[dict[str, Any]]:
    """Hosts side by side: where remote traffic is, what is open, what numascope costs."""
    return [
        row("Fleet"),
        panel(
            "Hosts ranked by remote pages per second",
            "bargauge",
            [
                target(
                    f"sort_desc(sum by (instance) ({rate('numascope_node_pages_total', REMOTE)}))",
                    "{{instance}}",
                    instant=True,
                )
            ],
            (8, 8),
            PAGES,
            "Pages allocated on a node other than the asking CPU's, per second, summed over "
            "each host's nodes: the hosts to look at first.",
            options={"orientation": "horizontal", "displayMode": "basic"},
        ),
        panel(
            "Hosts with open findings",
            "table",
            [
                target(
                    f"sort_desc(sum by (instance, severity) (numascope_findings{{{SEL}}}))",
                    instant=True,
                )
            ],
            (8, 8),
            COUNT,
            "Open policy findings per host and severity (the placement policy in each "
            "host's config); hosts without findings are not listed.",
        ),
        panel(
            "numascope CPU per host (share of one core)",
            "timeseries",
            [
                target(
                    f"sum by (instance) ({rate('process_cpu_seconds_total')})",
                    "{{instance}} process",
                ),
                target(
                    # Statistics are sampled: run time over the time they were on.
                    f"sum by (instance) ({rate('numascope_bpf_run_seconds_total')})"
                    f" / sum by (instance) ({rate('numascope_bpf_stats_seconds_total')})",
                    "{{instance}} BPF programs (kernel-timed)",
                ),
            ],
            (8, 8),
            SHARE,
            "numascope's own cost: CPU time of the exporter process (user and system) and "
            "time the kernel spent in numascope's BPF programs, per second of wall time "
            "(100% is one core). BPF time is measured only while self-cost is on.",
        ),
        panel(
            "numascope memory per host (RSS)",
            "timeseries",
            [target(f"process_resident_memory_bytes{{{SEL}}}", "{{instance}}")],
            (8, 8),
            BYTES,
            "Resident memory of the exporter process; most of it is the BPF compiler's "
            "state kept after the probes were built.",
        ),
    ]


def locality() -> list[dict[str, Any]]:
    """Which node pages come from, per node, per workload and per host's node pairs."""
    remote_node = (
        f"sum by (instance, node) ({rate('numascope_node_pages_total', REMOTE)})"
        f" / sum by (instance, node) ({rate('numascope_node_pages_total')})"
    )
    remote_workload = (
        "topk(10, sum by (instance, workload, pid, kind) "
        f"({rate('numascope_workload_locality_pages_total', REMOTE)})"
        " / sum by (instance, workload, pid, kind) "
        f"({rate('numascope_workload_locality_pages_total')}))"
    )
    return [
        row("Locality"),
        panel(
            "Remote page ratio per node",
            "timeseries",
            [target(remote_node, "{{instance}} node {{node}}")],
            (12, 8),
            SHARE,
            "Share of the pages a node supplied that went to another node's CPUs.",
        ),
        panel(
            "Remote page ratio per workload (top 10)",
            "timeseries",
            [target(remote_workload, "{{instance}} {{workload}} ({{pid}})")],
            (12, 8),
            SHARE,
            "Share of a workload's pages that came from a node other than its CPU's; the "
            "ten highest. A workload with little traffic can read 100% on a few pages: "
            "the alerts need the policy's min-pages of traffic first.",
        ),
        panel(
            "Node-to-node allocations on $instance (CPU node -> page node)",
            "table",
            [
                target(
                    f"sum by (cpu_node, page_node) ({rate('numascope_matrix_pages_total')})",
                    instant=True,
                )
            ],
            (8, 8),
            PAGES,
            "Pages per second that CPUs of each node (rows) got from each node (columns), "
            "one matrix per host (the panel repeats for every selected instance). Off the "
            "diagonal is remote; -1 is a page whose node is unknown.",
            repeat="instance",
            repeatDirection="h",
            maxPerRow=3,
            transformations=[
                {
                    "id": "groupingToMatrix",
                    "options": {
                        "columnField": "page_node",
                        "rowField": "cpu_node",
                        "valueField": "Value",
                    },
                }
            ],
        ),
        panel(
            "Top offenders (remote pages/s)",
            "table",
            [
                target(
                    "topk(15, sum by (instance, workload, pid, kind) "
                    f"({rate('numascope_workload_locality_pages_total', REMOTE)}))",
                    instant=True,
                )
            ],
            (8, 8),
            PAGES,
            "Workloads by remote pages per second, the fifteen highest over the selected "
            "hosts: the ones whose placement costs the most.",
        ),
        panel(
            "Open policy findings (share of pages off placement)",
            "table",
            [target(f"numascope_finding_ratio{{{SEL}}}", instant=True)],
            (8, 8),
            SHARE,
            "Each open finding, named by rule and workload, with its ratio: the share of the "
            "workload's pages the finding is about (remote, outside the bound nodes, ...).",
        ),
        panel(
            "Findings by kind and severity",
            "table",
            [
                target(
                    f"sum by (instance, severity, kind) (numascope_findings{{{SEL}}})",
                    instant=True,
                )
            ],
            (8, 8),
            COUNT,
            "How many findings are open, all workloads included (only the worst are named "
            "in the findings table).",
        ),
        panel(
            "numascope against the kernel's numastat (remote events/s)",
            "timeseries",
            [
                target(
                    "sum by (instance, node) "
                    f"({rate('numascope_node_allocation_events_total', REMOTE)})",
                    "{{instance}} numascope node {{node}}",
                ),
                target(
                    "sum by (instance, node) "
                    f"({rate('numascope_kernel_numastat_other_node_total')})",
                    "{{instance}} kernel other_node node {{node}}",
                ),
            ],
            (16, 8),
            EVENTS,
            "Remote allocation events as numascope's probe counts them and as the kernel's "
            "numastat other_node does: the two lines should lie on each other.",
        ),
    ]


def reclaim_and_irqs() -> list[dict[str, Any]]:
    """Memory pressure per node and interrupts against their device's node."""
    return [
        row("Reclaim and IRQs"),
        panel(
            "kswapd per node",
            "timeseries",
            [
                target(
                    f"sum by (instance, node) ({rate('numascope_kswapd_wakeups_total')})",
                    "{{instance}} wake-ups node {{node}}",
                ),
                target(
                    f"sum by (instance, node) ({rate('numascope_kswapd_awake_seconds_total')})",
                    "{{instance}} busy node {{node}}",
                    unit=SHARE,
                ),
            ],
            (8, 8),
            WAKEUPS,
            "kswapd wake-ups per second (left) and the share of time it ran (right) on "
            "each node: background reclaim, a node running short of free memory.",
        ),
        panel(
            "Reclaim per node",
            "timeseries",
            [
                target(
                    f"sum by (instance, node) ({rate('numascope_reclaim_reclaimed_pages_total')})",
                    "{{instance}} reclaimed node {{node}}",
                ),
                target(
                    f"sum by (instance, node) ({rate('numascope_direct_reclaim_stalls_total')})",
                    "{{instance}} direct reclaim stalls node {{node}}",
                    unit=STALLS,
                ),
            ],
            (8, 8),
            PAGES,
            "Pages reclaim freed per second (left) and allocations that stalled in direct "
            "reclaim per second (right), per node.",
        ),
        panel(
            "Direct reclaim stall p99 per node",
            "timeseries",
            [
                target(
                    "histogram_quantile(0.99, sum by (instance, node, le) "
                    f"({rate('numascope_direct_reclaim_stall_seconds_bucket')}))",
                    "{{instance}} p99 node {{node}}",
                )
            ],
            (8, 8),
            SECONDS,
            "How long the slowest 1% of direct-reclaim stalls held an allocation, per node.",
        ),
        panel(
            "IRQs against their device's node (handlings/s)",
            "table",
            [
                target(
                    "sum by (instance, irq, name, device_node, node, locality) "
                    f"({rate('numascope_irq_handled_total')})",
                    instant=True,
                )
            ],
            (12, 8),
            HANDLINGS,
            "Hard IRQ handlings per second by the node that ran the handler; locality "
            "remote means another node than the device's.",
        ),
        panel(
            "Softirqs per node (runs/s)",
            "table",
            [
                target(
                    f"sum by (instance, vector, node) ({rate('numascope_softirq_handled_total')})",
                    instant=True,
                )
            ],
            (12, 8),
            "suffix: runs/s",
            "Softirq runs per second by vector and node.",
        ),
    ]


def health() -> list[dict[str, Any]]:
    """numascope's own state: is it scraped, polling, attached, overflowing."""
    return [
        row("numascope health"),
        panel(
            "Scrape and probes (1 up, 0 down)",
            "table",
            [
                target(f"up{{{SEL}}}", instant=True),
                target(f"numascope_probe_attached{{{SEL}}}", instant=True),
                target(f"numascope_source_fallback{{{SEL}}}", instant=True),
                target(f"numascope_build_info{{{SEL}}}", instant=True),
            ],
            (8, 8),
            COUNT,
            "Whether Prometheus scrapes each exporter (up), each probe it attached (1) or "
            "could not (0), whether the source fell back to the kernel's counters (1, with "
            "the reason), and the version running.",
        ),
        panel(
            "Poll duration per probe family",
            "timeseries",
            [
                target(
                    f"numascope_family_poll_duration_seconds{{{SEL}}}",
                    "{{instance}} {{family}}",
                ),
                target(
                    f"numascope_collection_duration_seconds{{{SEL}}}", "{{instance}} whole poll"
                ),
                target(
                    f"time() - numascope_last_poll_timestamp_seconds{{{SEL}}}",
                    "{{instance}} since the last poll",
                ),
            ],
            (8, 8),
            SECONDS,
            "How long each probe family's part of the last poll took, the whole poll, and "
            "the age of the latest snapshot (stale when far above the poll interval).",
        ),
        panel(
            "Probe failures and poll success per family",
            "timeseries",
            [
                target(f"numascope_family_poll_success{{{SEL}}}", "{{instance}} {{family}} ok"),
                target(
                    "sum by (instance, family) "
                    f"(increase(numascope_probe_failures_total{{{SEL}}}[{RI}]))",
                    "{{instance}} {{family}} failures",
                ),
                target(
                    f"increase(numascope_map_overflow_events_total{{{SEL}}}[{RI}])",
                    "{{instance}} owner map overflow",
                ),
            ],
            (8, 8),
            COUNT,
            "Per probe family, 1 while its last poll worked; probe failures and allocation "
            "events the full owner map counted under 'other', per rate interval.",
        ),
        panel(
            "BPF time per program run",
            "timeseries",
            [
                target(
                    f"sum by (instance, program) ({rate('numascope_bpf_run_seconds_total')})"
                    f" / sum by (instance, program) ({rate('numascope_bpf_runs_total')})",
                    "{{instance}} {{program}}",
                )
            ],
            (12, 8),
            SECONDS,
            "Time the kernel spent per run of numascope's BPF programs (one run per traced "
            "event), while self-cost is measured.",
        ),
    ]


def allocator() -> list[dict[str, Any]]:
    """Per-CPU page lists, high-order allocations and failures, call sites, slab."""
    zone_lock = (
        f"sum by (instance, node) ({rate('numascope_zone_locked_pages_total')})"
        f" / sum by (instance, node) ({rate('numascope_page_list_allocated_pages_total')})"
    )
    slab_remote = (
        "topk(10, sum by (instance, cache) "
        f"""({rate("numascope_slab_objects_total", 'requested="remote"')})"""
        f" / sum by (instance, cache) ({rate('numascope_slab_objects_total')}))"
    )
    high = 'order!="0"'
    return [
        row("Allocator"),
        panel(
            "Zone-lock share per node (per-CPU page lists)",
            "timeseries",
            [target(zone_lock, "{{instance}} node {{node}}")],
            (12, 8),
            SHARE,
            "Pages taken from the node's buddy lists under the zone lock (per-CPU "
            "list refills and allocations that bypass the lists) per page allocated.",
        ),
        panel(
            "High-order allocations and failures by order and node",
            "timeseries",
            [
                target(
                    "sum by (instance, node, order) "
                    f"({rate('numascope_node_order_pages_total', high)})",
                    "{{instance}} pages order {{order}} node {{node}}",
                ),
                target(
                    "sum by (instance, node, order) "
                    f"({rate('numascope_failed_allocations_total', high)})",
                    "{{instance}} failed order {{order}} from CPU node {{node}}",
                    unit=EVENTS,
                ),
                target(
                    f"sum by (instance, node) ({rate('numascope_kcompactd_wakeups_total')})",
                    "{{instance}} kcompactd wake-ups node {{node}}",
                    unit=EVENTS,
                ),
                target(
                    f"sum by (instance) ({rate('numascope_kernel_compact_stall_total')})",
                    "{{instance}} compaction stalls (host)",
                    unit=EVENTS,
                ),
            ],
            (12, 8),
            PAGES,
            "Pages of order 1 and up per second (left); failed allocations, kcompactd "
            "wake-ups and compaction stalls per second (right).",
        ),
        panel(
            "Top high-order call sites (pages/s)",
            "table",
            [
                target(
                    "topk(10, sum by (instance, order, node, site, workload) "
                    f"({rate('numascope_high_order_pages_total')}))",
                    instant=True,
                )
            ],
            (12, 8),
            PAGES,
            "Order 4 and up, by the first kernel frame outside the page "
            "allocator and the workload; numascope exports the top sites only.",
        ),
        panel(
            "Slab remote share per cache (top 10)",
            "timeseries",
            [target(slab_remote, "{{instance}} {{cache}}")],
            (12, 8),
            SHARE,
            "Objects requested on a node other than the allocating CPU's, per "
            "object allocated (the slab probe is opt-in: probes: [..., slab]).",
        ),
    ]


def balancing() -> list[dict[str, Any]]:
    """NUMA balancing: what it migrates and for whom, and memory tiers' moves."""
    local_share = (
        f"sum by (instance) ({rate('numascope_numa_balancing_hint_faults_local_total')})"
        f" / sum by (instance) ({rate('numascope_numa_balancing_hint_faults_total')})"
    )
    return [
        row("NUMA balancing and memory tiers"),
        panel(
            "NUMA balancing: pages migrated and local hinting faults",
            "timeseries",
            [
                target(
                    f"sum by (instance) ({rate('numascope_numa_balancing_migrated_pages_total')})",
                    "{{instance}} pages migrated",
                ),
                target(local_share, "{{instance}} local share of hinting faults", unit=SHARE),
            ],
            (8, 8),
            PAGES,
            "Pages the kernel's NUMA balancing migrated per second (left), and the share of "
            "its hinting faults that were already local (right): migrations that do not "
            "raise the local share are churn (docs/balancing.md).",
        ),
        panel(
            "Processes by balancing verdict",
            "timeseries",
            [
                target(
                    f"sum by (instance, verdict) (numascope_numa_balancing_processes{{{SEL}}})",
                    "{{instance}} {{verdict}}",
                )
            ],
            (8, 8),
            COUNT,
            "Processes NUMA balancing touched, by numascope's verdict at their latest "
            "reading: local, improving, churning, stuck, quiet, off.",
        ),
        panel(
            "Memory tiers: pages demoted and promoted",
            "timeseries",
            [
                target(
                    "sum by (instance, reason) "
                    f"({rate('numascope_memory_tier_host_demoted_pages_total')})",
                    "{{instance}} demoted by {{reason}}",
                ),
                target(
                    "sum by (instance) "
                    f"({rate('numascope_memory_tier_host_promoted_pages_total')})",
                    "{{instance}} promoted",
                ),
            ],
            (8, 8),
            PAGES,
            "Pages moved to a slower memory tier (by kswapd, direct reclaim or khugepaged) "
            "and back to a faster one, per second, whole host.",
        ),
        panel(
            "Top processes by pages NUMA balancing migrated",
            "table",
            [
                target(
                    "topk(10, sum by (instance, workload, pid) "
                    f"({rate('numascope_numa_balancing_process_migrated_pages_total')}))",
                    instant=True,
                )
            ],
            (24, 8),
            PAGES,
            "The processes balancing moved most pages for, per second; their verdicts "
            "are on numascope_numa_balancing_process_locality_ratio.",
        ),
    ]


def residence_and_migrations() -> list[dict[str, Any]]:
    """Where memory lives now, which processes' memory moved, and what migrated it."""
    kernel = rate("numascope_migration_kernel_total", 'counter="pgmigrate_success"')
    counted_share = (
        f"sum by (instance) ({rate('numascope_migrated_pages_total')})"
        f" / sum by (instance) ({kernel})"
    )
    return [
        row("Where memory lives and how it moves"),
        panel(
            "Memory per node, by kind",
            "timeseries",
            [
                target(
                    f"sum by (instance, node, kind) (numascope_resident_node_bytes{{{SEL}}})",
                    "{{instance}} node {{node}} {{kind}}",
                )
            ],
            (8, 8),
            BYTES,
            "Each node's memory as its nodeN/meminfo counts it: anonymous, file (less "
            "shmem), shmem, and hugetlb pools (used or free). A lower-tier or CPU-less "
            "node filling up here is demotion or placement at work (docs/residence.md).",
        ),
        panel(
            "Processes' memory per node",
            "timeseries",
            [
                target(
                    f"sum by (instance, node) (numascope_resident_processes_bytes{{{SEL}}})",
                    "{{instance}} node {{node}}",
                )
            ],
            (8, 8),
            BYTES,
            "Memory the processes numascope has read (numa_maps, weighted by page size) "
            "hold on each node; shared pages count once per process that maps them. "
            "numascope_resident_processes_read says how many were read.",
        ),
        panel(
            "Pages migrated by reason, and the share numascope counted",
            "timeseries",
            [
                target(
                    f"sum by (instance, reason) ({rate('numascope_migrated_pages_total')})",
                    "{{instance}} {{reason}}",
                ),
                target(
                    counted_share,
                    "{{instance}} counted / kernel's pgmigrate_success",
                    unit=SHARE,
                ),
            ],
            (8, 8),
            PAGES,
            "Base pages the kernel migrated per second, by reason (numa_misplaced is NUMA "
            "balancing, demotion is memory tiering, syscall_or_cpuset is migratepages, "
            "move_pages or a cpuset change; left), and numascope's count over the "
            "kernel's pgmigrate_success (right): 1 when no migration was missed.",
        ),
        panel(
            "Top processes by memory moved since allocated",
            "table",
            [target(f"topk(10, numascope_resident_moved_ratio{{{SEL}}})", instant=True)],
            (12, 8),
            SHARE,
            "Share of a process's resident memory on nodes beyond where numascope counted "
            "its allocations: memory that migrated (or was allocated before numascope "
            "started). The top Memory tab and the report show the nodes.",
        ),
        panel(
            "Top migrators by reason",
            "table",
            [
                target(
                    "topk(10, sum by (instance, workload, pid, kind, reason) "
                    f"({rate('numascope_migrated_pages_by_workload_total')}))",
                    instant=True,
                )
            ],
            (12, 8),
            PAGES,
            "The processes and kernel threads (kind) that migrated most pages per second, "
            "by reason; workload=other holds every one below the budget. A kernel thread "
            "here (kcompactd, kswapd) migrates on the kernel's own behalf.",
        ),
        panel(
            "Threads NUMA balancing moved toward their memory, by outcome",
            "timeseries",
            [
                target(
                    f"sum by (instance, outcome, node) ({rate('numascope_numa_task_moves_total')})",
                    "{{instance}} {{outcome}} to node {{node}}",
                )
            ],
            (24, 7),
            EVENTS,
            "sched_move_numa, sched_swap_numa and sched_stick_numa per second: threads "
            "balancing moved to a CPU of the node, swapped with a thread there, or wanted "
            "to move and could not (stuck; node -1: no CPU the thread may use, as when it "
            "is pinned away from its memory). Much 'stuck' beside pages migrated by "
            "numa_misplaced: balancing can only move the memory (docs/migrations.md).",
        ),
    ]


def laid_out(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Places panels left to right in rows of 24 columns, each row panel on its own line."""
    x = y = height = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        grid = p["gridPos"]
        if p["type"] == "row" or x + grid["w"] > WIDTH:
            x, y, height = 0, y + height, 0
        grid.update(x=x, y=y)
        if p["type"] == "row":
            y += 1
            continue
        x += grid["w"]
        height = max(height, grid["h"])
    return panels


def variable(name: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-var"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def dashboard() -> dict[str, Any]:
    """The whole dashboard, as Grafana imports it."""
    return {
        "uid": "numascope",
        "title": "numascope: NUMA memory locality",
        "description": "NUMA memory locality from numascope's exporter: fleet, locality per "
        "node and workload, where memory lives and how it moves, reclaim and IRQs, numascope's "
        "own health, allocator internals, NUMA balancing and memory tiers.",
        "tags": ["numascope", "numa"],
        "timezone": "",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "hide": 0,
                },
                variable("job", "label_values(numascope_build_info, job)"),
                variable("instance", 'label_values(numascope_build_info{job=~"$job"}, instance)'),
            ]
        },
        "annotations": {"list": []},
        "panels": laid_out(
            [
                *fleet(),
                *locality(),
                *residence_and_migrations(),
                *reclaim_and_irqs(),
                *health(),
                *allocator(),
                *balancing(),
            ]
        ),
    }


def main() -> None:
    out = Path(__file__).with_name("numascope.json")
    out.write_text(json.dumps(dashboard(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
