"""The metrics numascope serves about itself: what runs, what attached, what it costs.

Kept apart from the measurement families in catalogue.py, which lists both.
"""

from __future__ import annotations

from numascope.exporters.prometheus.metric import Metric

SELF_METRICS = (
    Metric(
        "numascope_build_info",
        "gauge",
        ("version", "revision"),
        "Always 1: the version running and its git commit (unknown if not known).",
    ),
    Metric("numascope_source_info", "gauge", ("source",), "Always 1: where snapshots come from."),
    Metric(
        "numascope_source_fallback",
        "gauge",
        ("reason",),
        "1 while the BPF probes could not start and only the kernel's own numastat "
        "counters are served (reason: no_privilege, no_bcc, no_tracefs, "
        "no_kernel_headers, compile_failed, attach_failed); 0 otherwise.",
    ),
    Metric(
        "numascope_family_poll_duration_seconds",
        "gauge",
        ("family",),
        "How long the latest poll's read of this probe family took (0 if not read).",
    ),
    Metric(
        "numascope_family_poll_success",
        "gauge",
        ("family",),
        "1 if this probe family read at the latest poll; 0 if it failed, a program "
        "of it went away, or it never attached.",
    ),
    Metric(
        "numascope_probe_attached",
        "gauge",
        ("probe",),
        "1 for a probe attached, 0 for one that could not be.",
    ),
    Metric(
        "numascope_map_overflow_pages",
        "counter",
        (),
        "Pages counted under 'other' because the owner map was full.",
    ),
    Metric(
        "numascope_map_overflow_events",
        "counter",
        (),
        "Allocation events counted under 'other' because the owner map was full.",
    ),
    Metric(
        "numascope_bpf_recursion_misses",
        "counter",
        (),
        "Times the kernel skipped a numascope BPF program (recursion).",
    ),
    Metric("numascope_map_capacity_entries", "gauge", (), "Owner map capacity."),
    Metric("numascope_map_peak_entries", "gauge", (), "Most owner map entries seen in use."),
    Metric(
        "numascope_bpf_run_seconds",
        "counter",
        ("program",),
        "Time the kernel spent in this numascope BPF program, kernel-timed by bpf_stats and "
        "counted only while they are sampled (numascope_bpf_stats_seconds_total); includes "
        "the timing's own cost and reads high in virtual machines.",
    ),
    Metric(
        "numascope_bpf_stats_seconds",
        "counter",
        (),
        "Time the kernel's BPF statistics were on (numascope samples them a few seconds a "
        "minute): rate(numascope_bpf_run_seconds_total) over its rate is the programs' "
        "share of a CPU.",
    ),
    Metric(
        "numascope_bpf_runs",
        "counter",
        ("program",),
        "Runs of this numascope BPF program, as bpf_stats count them (only while sampled).",
    ),
    Metric(
        "numascope_collection_duration_seconds",
        "gauge",
        (),
        "How long the latest poll of the kernel took.",
    ),
    Metric(
        "numascope_last_poll_timestamp_seconds",
        "gauge",
        (),
        "When the latest snapshot was taken (Unix time).",
    ),
    Metric("numascope_polls", "counter", (), "Polls of the snapshot source."),
    Metric("numascope_poll_errors", "counter", (), "Polls of the snapshot source that failed."),
    Metric(
        "numascope_probe_failures",
        "counter",
        ("family",),
        "Times a probe family, or one of its programs, stopped working after it attached.",
    ),
    Metric(
        "numascope_pid_reuses",
        "counter",
        (),
        "Pids that came back as a new process after an exit (counted as a new row).",
    ),
    Metric(
        "numascope_unknown_node_pages",
        "counter",
        (),
        "Pages from memory outside the node ranges read at start (restart to re-read).",
    ),
    Metric(
        "numascope_poll_overruns",
        "counter",
        (),
        "Polls that started an interval or more late because the one before overran.",
    ),
)
