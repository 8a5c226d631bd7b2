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

from numascope.config import Config
from numascope.exporters.prometheus.allocator import allocator_samples
from numascope.exporters.prometheus.balancing import balancing_samples
from numascope.exporters.prometheus.budgeted import OTHER_LABELS, Exposure, FamilySeries
from numascope.exporters.prometheus.catalogue import (
    METRICS,
    NUMASTAT_HELP,
    NUMASTAT_PREFIX,
    POD,
)
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.exporters.prometheus.migrations import migration_samples
from numascope.exporters.prometheus.residence import residence_samples
from numascope.exporters.prometheus.self_samples import build_info_samples, health_samples
from numascope.revision import UNKNOWN
from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import Finding, Locality, Snapshot, Workload
from numascope.snapshot.sections import DirectReclaim

Labels = tuple[str, ...]
# BudgetedCounters.advance (a step) or .read (the poller's step), per snapshot.
BudgetedStep = Callable[[Snapshot, int], Exposure]

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
            rows = self.values[name]
            keep = _kept_labels(metric.labels, rows)
            family = cls(name, metric.help, labels=[metric.labels[i] for i in keep])
            for labels, value in rows.items():
                family.add_metric([labels[i] for i in keep], value)
            yield family


def _kept_labels(names: Labels, rows: dict[Labels, float]) -> list[int]:
    """Indices of the labels to write: all but pod labels empty on every series.

    Prometheus treats an empty label as an absent one, so leaving them out names
    the same series; a host without pods keeps its /metrics a third smaller."""
    if not any(n in POD for n in names):
        return list(range(len(names)))
    return [i for i, n in enumerate(names) if n not in POD or any(k[i] for k in rows)]


@dataclass(frozen=True)
class ScrapeState:
    """What one scrape reads: the latest snapshot and the exporter's own counts."""

    snapshot: Snapshot | None
    config: Config
    polls: int = 0
    poll_errors: int = 0
    revision: str = UNKNOWN  # the running commit (numascope.revision), for build_info


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


_SPLIT_METRICS = {
    "local_pages": ("locality_pages", "local"),
    "remote_pages": ("locality_pages", "remote"),
    "local_events": ("allocation_events", "local"),
    "remote_events": ("allocation_events", "remote"),
}


def _workload_family(s: Samples, prefix: str, series: FamilySeries, other: Labels) -> None:
    """numascope_{prefix}_pages by node and _locality_pages (and, for processes,
    _allocation_events) from a budgeted family's ledger."""
    places: list[tuple[int, str, str]] = []
    for i, column in enumerate(series.view.columns):
        if isinstance(column, tuple):
            if column[0] == "pages":
                places.append((i, f"{prefix}_pages", node_label(column[1])))
            continue
        metric, where = _SPLIT_METRICS[str(column)]
        name = f"{prefix}_{metric}"
        if name in METRICS:
            places.append((i, name, where))
    for labels, values in series.rows(other):
        row = values.tolist()
        for i, name, last in places:
            s.add(name, (*labels, last), row[i])


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
    # The alert rules' traffic guards: the same min-pages the policy applies.
    s.set("numascope_policy_min_pages", (), t.min_pages)
    s.set("numascope_policy_window_seconds", (), t.window_seconds)
    s.set("numascope_policy_irq_min_events", (), t.irq.min_events)
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


def build_families(state: ScrapeState, budgeted: BudgetedStep) -> Iterator[Metric]:
    """Every family for one scrape (only exporter health before the first snapshot);
    the budgeted families as `budgeted` gives them for the snapshot read."""
    s = Samples()
    build_info_samples(s, state.revision)
    s.set("numascope_polls", (), state.polls)
    s.set("numascope_poll_errors", (), state.poll_errors)
    _policy(s, state.config)
    snap = state.snapshot
    if snap is None:
        yield from s.families()
        return
    limit = state.config.prometheus.workload_limit
    exposure = budgeted(snap, limit)
    _nodes(s, snap)
    _workload_family(s, "numascope_workload", exposure.processes, OTHER_LABELS["processes"])
    _workload_family(s, "numascope_cgroup", exposure.cgroups, OTHER_LABELS["cgroups"])
    for kind, count in (_kinds(snap.processes) + _kinds(snap.cgroups)).items():
        s.set("numascope_workloads", (kind,), count)
    s.set("numascope_workloads_folded", ("process",), exposure.processes.folded)
    s.set("numascope_workloads_folded", ("cgroup",), exposure.cgroups.folded)
    _findings(s, snap.findings, limit)
    _reclaim(s, snap)
    _irqs(s, snap)
    allocator_samples(s, snap.allocator, exposure)
    residence_samples(s, snap.residence, limit, snap.time)
    balancing_samples(s, snap.balancing, limit, exposure)
    migration_samples(s, snap.migrations, exposure)
    health_samples(s, snap)
    yield from s.families()
    histogram = _stall_histogram(snap)
    if histogram is not None:
        yield histogram
    yield from _numastat(snap)
