"""The exporter's account of itself: what it runs, what attached, what it costs.

As node_exporter and ebpf_exporter do: the build (`numascope_build_info`), each
probe family's latest read (duration and success, after node_exporter's
`node_scrape_collector_duration_seconds` / `_success`), each BPF program's
kernel-timed cost, failures by family, and whether the source fell back to the
kernel's own counters. The process_* and python_* families come from
prometheus_client's own collectors (see `registry.exporter_registry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numascope import __version__
from numascope.exporters.prometheus.labels import label_value
from numascope.snapshot.model import Health, Snapshot

if TYPE_CHECKING:
    from numascope.exporters.prometheus.families import Samples

# Snapshots recorded before per-program and per-family figures existed carry only
# totals; those are served under an empty label value (the same series as none).
UNLABELLED = ("",)


def build_info_samples(s: Samples, revision: str) -> None:
    """`numascope_build_info{version, revision}`: always there, even before a poll."""
    s.set("numascope_build_info", (__version__, label_value(revision)), 1)


def health_samples(s: Samples, snap: Snapshot) -> None:
    """Every self-metric the latest snapshot's health holds."""
    h = snap.health
    s.set("numascope_source_info", (label_value(snap.source),), 1)
    s.set(
        "numascope_source_fallback",
        (label_value(h.source_fallback),),
        1 if h.source_fallback else 0,
    )
    for probe in h.probes_attached:
        s.set("numascope_probe_attached", (label_value(probe),), 1)
    for probe in h.probes_missing:
        s.set("numascope_probe_attached", (label_value(probe),), 0)
    _families(s, h)
    _programs(s, h)
    s.set("numascope_map_overflow_pages", (), h.overflow_pages)
    s.set("numascope_map_overflow_events", (), h.overflow_events)
    s.set("numascope_bpf_recursion_misses", (), h.recursion_misses)
    s.set("numascope_map_capacity_entries", (), h.map_capacity)
    s.set("numascope_map_peak_entries", (), h.map_peak_entries)
    s.set("numascope_collection_duration_seconds", (), h.poll_seconds)
    s.set("numascope_last_poll_timestamp_seconds", (), snap.time)
    s.set("numascope_pid_reuses", (), h.pid_reuses)
    s.set("numascope_unknown_node_pages", (), h.unknown_node_pages)
    s.set("numascope_poll_overruns", (), h.poll_overruns)


def _families(s: Samples, h: Health) -> None:
    for name, family in h.families.items():
        labels = (label_value(name),)
        s.set("numascope_family_poll_duration_seconds", labels, family.poll_seconds)
        s.set("numascope_family_poll_success", labels, 1 if family.ok else 0)
        s.set("numascope_probe_failures", labels, family.failures)
    if not h.families and h.probe_failures:
        s.set("numascope_probe_failures", UNLABELLED, h.probe_failures)


def _programs(s: Samples, h: Health) -> None:
    if h.bpf_stats_seconds:
        s.set("numascope_bpf_stats_seconds", (), h.bpf_stats_seconds)
    for name, cost in h.programs.items():
        labels = (label_value(name),)
        s.set("numascope_bpf_run_seconds", labels, cost.run_ns / 1e9)
        s.set("numascope_bpf_runs", labels, cost.runs)
    if not h.programs and h.bpf_run_count:
        s.set("numascope_bpf_run_seconds", UNLABELLED, h.bpf_run_ns / 1e9)
        s.set("numascope_bpf_runs", UNLABELLED, h.bpf_run_count)
