"""Writes dashboards/numascope.json (run it after changing a panel).

    .venv/bin/python dashboards/make_dashboard.py

The dashboard is generated so that every query is written once, here, and the
tests can read the same JSON Grafana imports. The datasource is a template
variable (no `__inputs`), so the file imports as is into any Grafana.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEL = 'job=~"$job", instance=~"$instance"'
RI = "$__rate_interval"
REMOTE = 'locality="remote"'
DS = {"type": "prometheus", "uid": "${datasource}"}


def target(expr: str, legend: str = "", instant: bool = False, ref: str = "A") -> dict[str, Any]:
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend}
    if instant:
        t.update(instant=True, range=False, format="table")
    return t


def panel(
    title: str,
    kind: str,
    targets: list[dict[str, Any]],
    grid: tuple[int, int, int, int],
    unit: str = "short",
    description: str = "",
    **options: Any,
) -> dict[str, Any]:
    x, y, w, h = grid
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    p: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": targets,
    }
    p.update(options)
    return p


def rate(metric: str, extra: str = "") -> str:
    labels = f"{SEL}, {extra}" if extra else SEL
    return f"rate({metric}{{{labels}}}[{RI}])"


def panels() -> list[dict[str, Any]]:
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
        panel(
            "Remote page ratio per node",
            "timeseries",
            [target(remote_node, "{{instance}} node {{node}}")],
            (0, 0, 12, 8),
            unit="percentunit",
            description="Share of the pages a node supplied that went to another node's CPUs.",
        ),
        panel(
            "Remote page ratio per workload (top 10)",
            "timeseries",
            [target(remote_workload, "{{workload}} ({{pid}})")],
            (12, 0, 12, 8),
            unit="percentunit",
        ),
        panel(
            "Node-to-node allocations (pages/s, CPU node -> page node)",
            "table",
            [
                target(
                    f"sum by (cpu_node, page_node) ({rate('numascope_matrix_pages_total')})",
                    instant=True,
                )
            ],
            (0, 8, 8, 8),
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
            (8, 8, 8, 8),
        ),
        panel(
            "Policy findings",
            "table",
            [
                target(f"numascope_finding_ratio{{{SEL}}}", instant=True),
                target(f"sum by (severity, kind) (numascope_findings{{{SEL}}})", instant=True),
            ],
            (16, 8, 8, 8),
            unit="percentunit",
        ),
        panel(
            "kswapd per node",
            "timeseries",
            [
                target(
                    f"sum by (instance, node) ({rate('numascope_kswapd_wakeups_total')})",
                    "wake-ups/s node {{node}}",
                ),
                target(
                    f"sum by (instance, node) ({rate('numascope_kswapd_awake_seconds_total')})",
                    "busy node {{node}}",
                ),
            ],
            (0, 16, 8, 8),
        ),
        panel(
            "Reclaim per node",
            "timeseries",
            [
                target(
                    f"sum by (instance, node) ({rate('numascope_reclaim_reclaimed_pages_total')})",
                    "reclaimed pages/s node {{node}}",
                ),
                target(
                    f"sum by (instance, node) ({rate('numascope_direct_reclaim_stalls_total')})",
                    "direct reclaim stalls/s node {{node}}",
                ),
                target(
                    "histogram_quantile(0.99, sum by (instance, node, le) "
                    f"({rate('numascope_direct_reclaim_stall_seconds_bucket')}))",
                    "p99 stall node {{node}}",
                ),
            ],
            (8, 16, 8, 8),
        ),
        panel(
            "IRQs against their device's node (handlings/s)",
            "table",
            [
                target(
                    "sum by (irq, name, device_node, node, locality) "
                    f"({rate('numascope_irq_handled_total')})",
                    instant=True,
                ),
                target(
                    f"sum by (vector, node) ({rate('numascope_softirq_handled_total')})",
                    instant=True,
                ),
            ],
            (16, 16, 8, 8),
        ),
        panel(
            "numascope against the kernel's numastat (remote events/s)",
            "timeseries",
            [
                target(
                    "sum by (instance, node) "
                    f"({rate('numascope_node_allocation_events_total', REMOTE)})",
                    "numascope node {{node}}",
                ),
                target(
                    "sum by (instance, node) "
                    f"({rate('numascope_kernel_numastat_other_node_total')})",
                    "kernel other_node node {{node}}",
                ),
            ],
            (0, 24, 12, 8),
        ),
        panel(
            "numascope health",
            "table",
            [
                target(f"up{{{SEL}}}", instant=True),
                target(f"numascope_probe_attached{{{SEL}}}", instant=True),
                target(f"numascope_collection_duration_seconds{{{SEL}}}", instant=True),
                target(f"time() - numascope_last_poll_timestamp_seconds{{{SEL}}}", instant=True),
                target(
                    f"increase(numascope_map_overflow_events_total{{{SEL}}}[{RI}])", instant=True
                ),
                target(
                    f"{rate('numascope_bpf_run_seconds_total')}"
                    f" / {rate('numascope_bpf_runs_total')}",
                    instant=True,
                ),
                target(f"numascope_build_info{{{SEL}}}", instant=True),
            ],
            (12, 24, 12, 8),
            description="Scrape state, probes, poll cost, staleness, owner-map overflow, "
            "seconds per BPF program run, version.",
        ),
        *allocator_panels(32),
    ]


def allocator_panels(y: int) -> list[dict[str, Any]]:
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
        panel(
            "Zone-lock share per node (per-CPU page lists)",
            "timeseries",
            [target(zone_lock, "{{instance}} node {{node}}")],
            (0, y, 12, 8),
            unit="percentunit",
            description="Pages taken from the node's buddy lists under the zone lock (per-CPU "
            "list refills and allocations that bypass the lists) per page allocated.",
        ),
        panel(
            "High-order allocations and failures by order and node",
            "timeseries",
            [
                target(
                    "sum by (instance, node, order) "
                    f"({rate('numascope_node_order_pages_total', high)})",
                    "pages/s order {{order}} node {{node}}",
                ),
                target(
                    "sum by (instance, node, order) "
                    f"({rate('numascope_failed_allocations_total', high)})",
                    "failed/s order {{order}} from CPU node {{node}}",
                ),
                target(
                    f"sum by (instance, node) ({rate('numascope_kcompactd_wakeups_total')})",
                    "kcompactd wake-ups/s node {{node}}",
                ),
                target(
                    f"sum by (instance) ({rate('numascope_kernel_compact_stall_total')})",
                    "compaction stalls/s (host)",
                ),
            ],
            (12, y, 12, 8),
        ),
        panel(
            "Top high-order call sites (pages/s)",
            "table",
            [
                target(
                    "topk(10, sum by (order, node, site, workload) "
                    f"({rate('numascope_high_order_pages_total')}))",
                    instant=True,
                )
            ],
            (0, y + 8, 12, 8),
            description="Order 4 and up, by the first kernel frame outside the page "
            "allocator and the workload; numascope exports the top sites only.",
        ),
        panel(
            "Slab remote share per cache (top 10)",
            "timeseries",
            [target(slab_remote, "{{instance}} {{cache}}")],
            (12, y + 8, 12, 8),
            unit="percentunit",
            description="Objects requested on a node other than the allocating CPU's, per "
            "object allocated (the slab probe is opt-in: probes: [..., slab]).",
        ),
    ]


def variable(name: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-var"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def dashboard() -> dict[str, Any]:
    ps = panels()
    for i, p in enumerate(ps, start=1):
        p["id"] = i
    return {
        "uid": "numascope",
        "title": "numascope: NUMA memory locality",
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
                    "current": {},
                    "hide": 0,
                },
                variable("job", "label_values(numascope_build_info, job)"),
                variable("instance", 'label_values(numascope_build_info{job=~"$job"}, instance)'),
            ]
        },
        "annotations": {"list": []},
        "panels": ps,
    }


def main() -> None:
    out = Path(__file__).with_name("numascope.json")
    out.write_text(json.dumps(dashboard(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
