"""Metric families from one snapshot: a pure function of the snapshot and settings.

Samples are accumulated per label set before they become families, so two
workloads whose names escape to the same label value add up instead of
producing a duplicate series that Prometheus would reject.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from numascope import __version__
from numascope.config import Config
from numascope.exporters.prometheus.allocator import allocator_samples
from numascope.exporters.prometheus.budget import OTHER, LabelBudget, Selection
from numascope.exporters.prometheus.catalogue import (
    METRICS,
    NUMASTAT_HELP,
    NUMASTAT_PREFIX,
)
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import Finding, Locality, Snapshot, Workload
from numascope.snapshot.sections import DirectReclaim

Labels = tuple[str, ...]

# How Prometheus' own clients print bucket bounds ("0.001", "1.0", "+Inf").
_go_float = cast(Callable[[float], str], floatToGoString)


@dataclass
class Samples:
    """Values per label set for every family of one scrape, in catalogue order."""

    values: dict[str, dict[Labels, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, name: str, labels: Labels, value: float) -> None:
        family = self.values[name]
        family[labels] = family.get(labels, 0.0) + value

    def set(self, name: str, labels: Labels, value: float) -> None:
        self.values[name][labels] = value

    def families(self) -> Iterator[Metric]:
        for name, metric in METRICS.items():
            if metric.type == "histogram" or name not in self.values:
                continue
            cls = CounterMetricFamily if metric.type == "counter" else GaugeMetricFamily
            family = cls(name, metric.help, labels=metric.labels)
            for labels, value in self.values[name].items():
                family.add_metric(list(labels), value)
            yield family


@dataclass(frozen=True)
class ScrapeState:
    """What one scrape reads: the latest snapshot and the exporter's own counts."""

    snapshot: Snapshot | None
    config: Config
    polls: int = 0
    poll_errors: int = 0


def _locality_labels(locality: Locality) -> Iterable[tuple[str, int, int]]:
    yield "local", locality.local_pages, locality.local_events
    yield "remote", locality.remote_pages, locality.remote_events


def _nodes(s: Samples, snap: Snapshot) -> None:
    for n in snap.nodes:
        node = node_label(n.node)
        for where, pages, events in _locality_labels(n.total):
            s.add("numascope_node_pages", (node, where), pages)
            s.add("numascope_node_allocation_events", (node, where), events)
        for order, pages in n.pages_by_order.items():
            s.add("numascope_node_order_pages", (node, order), pages)
        if n.mem_total_bytes:
            s.set("numascope_node_memory_bytes", (node,), n.mem_total_bytes)
            s.set("numascope_node_memory_free_bytes", (node,), n.mem_free_bytes)
    for c in snap.matrix:
        cell = (node_label(c.cpu_node), node_label(c.page_node))
        s.add("numascope_matrix_pages", cell, c.total_pages)
        s.add("numascope_matrix_allocation_events", cell, c.total_events)


def _workload_labels(w: Workload) -> Labels:
    pid = "" if w.pid is None else str(w.pid)
    return (label_value(w.name), pid, w.kind.value)


def _processes(s: Samples, selection: Selection) -> None:
    rows = [(_workload_labels(w), w.total) for w in selection.named]
    if selection.folded:
        rows.append(((OTHER, "", OTHER), selection.other))
    for labels, total in rows:
        for node, pages in total.pages_by_node.items():
            s.add("numascope_workload_pages", (*labels, node_label(node)), pages)
        for where, pages, events in _locality_labels(total):
            s.add("numascope_workload_locality_pages", (*labels, where), pages)
            s.add("numascope_workload_allocation_events", (*labels, where), events)


def _cgroups(s: Samples, selection: Selection) -> None:
    rows = [(label_value(w.cgroup or w.name), w.total) for w in selection.named]
    if selection.folded:
        rows.append((OTHER, selection.other))
    for cgroup, total in rows:
        for node, pages in total.pages_by_node.items():
            s.add("numascope_cgroup_pages", (cgroup, node_label(node)), pages)
        for where, pages, _ in _locality_labels(total):
            s.add("numascope_cgroup_locality_pages", (cgroup, where), pages)


def _findings(s: Samples, findings: tuple[Finding, ...], limit: int) -> None:
    # Findings come worst first; only the first `limit` are named, all are counted.
    for f in findings:
        s.add("numascope_findings", (label_value(f.rule), f.kind, f.severity.value), 1)
    for f in findings[:limit]:
        ratio = f.evidence.get("ratio", 1.0)
        value = float(ratio) if isinstance(ratio, (int, float)) else 1.0
        pid = "" if f.pid is None else str(f.pid)
        labels = (label_value(f.rule), label_value(f.workload_name), pid, f.kind, f.severity.value)
        s.set("numascope_finding_ratio", labels, value)


def _policy(s: Samples, config: Config) -> None:
    t = config.thresholds
    s.set("numascope_policy_remote_ratio", ("warning",), t.remote_ratio_warning)
    s.set("numascope_policy_remote_ratio", ("critical",), t.remote_ratio_critical)
    s.set("numascope_policy_irq_remote_ratio", (), t.irq.remote_ratio_warning)
    s.set("numascope_policy_kswapd_wakeups_per_second", (), t.reclaim.kswapd_wakeups_per_second)
    s.set("numascope_policy_direct_reclaims_per_second", (), t.reclaim.direct_reclaim_per_second)


def _reclaim(s: Samples, snap: Snapshot) -> None:
    for r in snap.reclaim:
        node = (node_label(r.node),)
        s.add("numascope_kswapd_wakeups", node, r.kswapd_wakeups.total)
        s.add("numascope_kswapd_awake_seconds", node, r.kswapd_awake_seconds.total)
        s.set("numascope_kswapd_awake", node, 1.0 if r.kswapd_awake else 0.0)
        s.add("numascope_reclaim_scanned_pages", node, r.pages_scanned.total)
        s.add("numascope_reclaim_reclaimed_pages", node, r.pages_reclaimed.total)
        s.add("numascope_laundered_pages", node, r.laundered_pages.total)
        s.add("numascope_direct_reclaim_stalls", node, r.direct_reclaim_stalls.total)
        s.add("numascope_direct_reclaim_pages", node, r.direct_reclaim_pages.total)
        s.add("numascope_node_reclaim_events", node, r.node_reclaim_events.total)
        s.add("numascope_compaction_stalls", node, r.compaction_stalls.total)
        s.set("numascope_node_lru_bytes", (*node, "file"), r.file_bytes)
        s.set("numascope_node_lru_bytes", (*node, "anon"), r.anon_bytes)
        for level, value in (
            ("min", r.watermark_min_bytes),
            ("low", r.watermark_low_bytes),
            ("high", r.watermark_high_bytes),
        ):
            s.set("numascope_node_watermark_bytes", (*node, level), value)


def _irq_locality(device_node: int, node: int) -> str:
    if device_node < 0:
        return "unknown"
    return "local" if device_node == node else "remote"


def _irqs(s: Samples, snap: Snapshot) -> None:
    for irq in snap.irqs:
        base = (str(irq.irq), label_value(irq.name), node_label(irq.device_node))
        for node, count in irq.count_by_node.items():
            labels = (*base, node_label(node), _irq_locality(irq.device_node, node))
            s.add("numascope_irq_handled", labels, count.total)
        for node, seconds in irq.seconds_by_node.items():
            labels = (*base, node_label(node), _irq_locality(irq.device_node, node))
            s.add("numascope_irq_seconds", labels, seconds.total)
    for soft in snap.softirqs:
        for node, count in soft.count_by_node.items():
            s.add(
                "numascope_softirq_handled",
                (label_value(soft.vector), node_label(node)),
                count.total,
            )
        for node, seconds in soft.seconds_by_node.items():
            s.add(
                "numascope_softirq_seconds",
                (label_value(soft.vector), node_label(node)),
                seconds.total,
            )


def _health(s: Samples, state: ScrapeState, snap: Snapshot) -> None:
    h = snap.health
    s.set("numascope_source_info", (label_value(snap.source),), 1)
    for probe in h.probes_attached:
        s.set("numascope_probe_attached", (label_value(probe),), 1)
    for probe in h.probes_missing:
        s.set("numascope_probe_attached", (label_value(probe),), 0)
    s.set("numascope_map_overflow_pages", (), h.overflow_pages)
    s.set("numascope_map_overflow_events", (), h.overflow_events)
    s.set("numascope_bpf_recursion_misses", (), h.recursion_misses)
    s.set("numascope_map_capacity_entries", (), h.map_capacity)
    s.set("numascope_map_peak_entries", (), h.map_peak_entries)
    s.set("numascope_bpf_run_seconds", (), h.bpf_run_ns / 1e9)
    s.set("numascope_bpf_runs", (), h.bpf_run_count)
    s.set("numascope_collection_duration_seconds", (), h.poll_seconds)
    s.set("numascope_last_poll_timestamp_seconds", (), snap.time)
    s.set("numascope_probe_failures", (), h.probe_failures)
    s.set("numascope_pid_reuses", (), h.pid_reuses)
    s.set("numascope_unknown_node_pages", (), h.unknown_node_pages)
    s.set("numascope_poll_overruns", (), h.poll_overruns)


def _merged_buckets(parts: Iterable[DirectReclaim]) -> tuple[list[tuple[str, float]], float]:
    """One cumulative histogram from several, even if their bucket bounds differ.

    A part's count at a bound it lacks is its count at its next lower bound, which
    keeps every merged bucket cumulative (never more than the true count).
    """
    hists = [p.stall_seconds for p in parts]
    bounds = sorted({b for h in hists for b, _ in h.buckets if not math.isinf(b)})
    out: list[tuple[str, float]] = []
    for bound in bounds:
        total = 0
        for h in hists:
            below = [n for b, n in h.buckets if b <= bound]
            total += below[-1] if below else 0
        out.append((_go_float(bound), float(total)))
    out.append(("+Inf", float(sum(h.count for h in hists))))
    return out, sum(h.sum_seconds for h in hists)


def _stall_histogram(snap: Snapshot) -> Metric | None:
    if not snap.direct_reclaim:
        return None
    meta = METRICS["numascope_direct_reclaim_stall_seconds"]
    family = HistogramMetricFamily(meta.name, meta.help, labels=meta.labels)
    by_node: dict[int, list[DirectReclaim]] = defaultdict(list)
    for d in snap.direct_reclaim:
        by_node[d.node].append(d)
    for node in sorted(by_node):
        buckets, total = _merged_buckets(by_node[node])
        family.add_metric([node_label(node)], buckets, total)
    return family


def _numastat(snap: Snapshot) -> Iterator[Metric]:
    per_key: dict[str, dict[int, int]] = defaultdict(dict)
    for counters in snap.kernel:
        for key, value in counters.total.items():
            per_key[key][counters.node] = value
    for key in sorted(per_key):
        name = NUMASTAT_PREFIX + "".join(c if c.isalnum() else "_" for c in key.lower())
        family = CounterMetricFamily(name, NUMASTAT_HELP.format(key=key), labels=("node",))
        for node, value in sorted(per_key[key].items()):
            family.add_metric([node_label(node)], value)
        yield family


def _kinds(workloads: Sequence[Workload]) -> Counter[str]:
    """How many workloads of each kind (a live collector's columns: no row built)."""
    if isinstance(workloads, WorkloadColumns):
        return Counter(kind.value for kind in workloads.kinds.tolist())
    return Counter(w.kind.value for w in workloads)


def build_families(
    state: ScrapeState, processes: LabelBudget, cgroups: LabelBudget
) -> Iterator[Metric]:
    """Every family for one scrape (only exporter health before the first snapshot)."""
    s = Samples()
    s.set("numascope_build_info", (__version__,), 1)
    s.set("numascope_polls", (), state.polls)
    s.set("numascope_poll_errors", (), state.poll_errors)
    _policy(s, state.config)
    snap = state.snapshot
    if snap is None:
        yield from s.families()
        return
    limit = state.config.prometheus.workload_limit
    procs = processes.select(snap.processes, limit)
    groups = cgroups.select(snap.cgroups, limit)
    _nodes(s, snap)
    _processes(s, procs)
    _cgroups(s, groups)
    for kind, count in (_kinds(snap.processes) + _kinds(snap.cgroups)).items():
        s.set("numascope_workloads", (kind,), count)
    s.set("numascope_workloads_folded", ("process",), procs.folded)
    s.set("numascope_workloads_folded", ("cgroup",), groups.folded)
    _findings(s, snap.findings, limit)
    _reclaim(s, snap)
    _irqs(s, snap)
    allocator_samples(s, snap.allocator)
    _health(s, state, snap)
    yield from s.families()
    histogram = _stall_histogram(snap)
    if histogram is not None:
        yield histogram
    yield from _numastat(snap)
