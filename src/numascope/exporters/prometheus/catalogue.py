"""Every metric the exporter can emit: name, type, labels and help, in one table.

The dashboard and alert-rule tests hold their queries against this table, so a
renamed metric breaks a test instead of a panel. Counter names here carry no
`_total`: prometheus_client appends it on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "numascope_"


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # "counter", "gauge" or "histogram"
    labels: tuple[str, ...]
    help: str

    def exposed_names(self) -> tuple[str, ...]:
        """The sample names that appear in /metrics for this family."""
        if self.type == "counter":
            return (f"{self.name}_total",)
        if self.type == "histogram":
            return tuple(f"{self.name}{s}" for s in ("_bucket", "_sum", "_count"))
        return (self.name,)


WORKLOAD = ("workload", "pid", "kind")
# A workload's or cgroup's Kubernetes pod, read from its cgroup path ("" outside
# a pod): one value per workload, so these add no series. Joined with
# kube-state-metrics' kube_pod_info{uid} for namespace and pod names. Left out
# of a scrape's family where no series has a pod (empty is absent to Prometheus).
POD = ("pod_uid", "container_id", "qos")

_METRICS = (
    # Nodes as page suppliers (the kernel's own numastat view, but from the probe).
    Metric(
        "numascope_node_pages",
        "counter",
        ("node", "locality"),
        "Pages this node supplied, to CPUs of the same node (local) or of another (remote).",
    ),
    Metric(
        "numascope_node_allocation_events",
        "counter",
        ("node", "locality"),
        "Allocation events this node supplied, local or remote to the asking CPU.",
    ),
    Metric(
        "numascope_node_order_pages",
        "counter",
        ("node", "order"),
        "Pages this node supplied, by allocation order class.",
    ),
    Metric("numascope_node_memory_bytes", "gauge", ("node",), "Memory of the node."),
    Metric("numascope_node_memory_free_bytes", "gauge", ("node",), "Free memory of the node."),
    # The node-to-node matrix.
    Metric(
        "numascope_matrix_pages",
        "counter",
        ("cpu_node", "page_node"),
        "Pages that CPUs of cpu_node got from page_node (-1: node unknown).",
    ),
    Metric(
        "numascope_matrix_allocation_events",
        "counter",
        ("cpu_node", "page_node"),
        "Allocation events of CPUs of cpu_node served by page_node (-1: node unknown).",
    ),
    # Workloads, within the label budget; the rest is workload="other". A named
    # series starts at 0 when named and counts what its workload adds while named;
    # "other" counts what the rest add (docs/prometheus-counters.md).
    Metric(
        "numascope_workload_pages",
        "counter",
        (*WORKLOAD, *POD, "node"),
        "Pages a process (or kernel thread or interrupt) got since it was named, by the node "
        'that supplied them; workload="other" counts the rest.',
    ),
    Metric(
        "numascope_workload_locality_pages",
        "counter",
        (*WORKLOAD, *POD, "locality"),
        "Pages a workload got since it was named, from its CPU's node (local) or another "
        "node (remote).",
    ),
    Metric(
        "numascope_workload_allocation_events",
        "counter",
        (*WORKLOAD, *POD, "locality"),
        "Allocation events of a workload since it was named, local or remote.",
    ),
    Metric(
        "numascope_cgroup_pages",
        "counter",
        ("cgroup", *POD, "node"),
        "Pages a cgroup's processes got since the cgroup was named, by the node that "
        'supplied them; cgroup="other" counts the rest.',
    ),
    Metric(
        "numascope_cgroup_locality_pages",
        "counter",
        ("cgroup", *POD, "locality"),
        "Pages a cgroup's processes got since the cgroup was named, local or remote.",
    ),
    Metric(
        "numascope_workloads",
        "gauge",
        ("kind",),
        "Workloads numascope tracks, exported by name or not.",
    ),
    Metric(
        "numascope_workloads_folded",
        "gauge",
        ("family",),
        'Workloads folded into workload="other" by the label budget.',
    ),
    # Policy.
    Metric(
        "numascope_finding_ratio",
        "gauge",
        ("rule", "workload", "pid", "kind", "severity"),
        "An open policy finding and its ratio (share of pages off placement, 0..1).",
    ),
    Metric(
        "numascope_findings",
        "gauge",
        ("rule", "kind", "severity"),
        "Open policy findings, all workloads included.",
    ),
    Metric(
        "numascope_policy_remote_ratio",
        "gauge",
        ("severity",),
        "Remote-page ratio at which the policy raises a finding of this severity.",
    ),
    Metric(
        "numascope_policy_min_pages",
        "gauge",
        (),
        "Pages a workload needs in one policy window before its ratio is judged.",
    ),
    Metric(
        "numascope_policy_window_seconds",
        "gauge",
        (),
        "The span over which the policy judges a workload's traffic.",
    ),
    Metric(
        "numascope_policy_irq_min_events",
        "gauge",
        (),
        "Handlings an IRQ needs before its remote share is judged.",
    ),
    Metric(
        "numascope_policy_irq_remote_ratio",
        "gauge",
        (),
        "Share of an IRQ's handlings off its device's node the policy warns at.",
    ),
    Metric(
        "numascope_policy_kswapd_wakeups_per_second",
        "gauge",
        (),
        "kswapd wake-up rate per node the policy calls a reclaim storm.",
    ),
    Metric(
        "numascope_policy_direct_reclaims_per_second",
        "gauge",
        (),
        "Direct-reclaim stall rate per node the policy calls a reclaim storm.",
    ),
    # The page daemon and reclaim.
    Metric("numascope_kswapd_wakeups", "counter", ("node",), "kswapd wake-ups on the node."),
    Metric("numascope_kswapd_awake_seconds", "counter", ("node",), "Time kswapd of the node ran."),
    Metric("numascope_kswapd_awake", "gauge", ("node",), "1 while kswapd of the node is awake."),
    Metric("numascope_reclaim_scanned_pages", "counter", ("node",), "Pages reclaim scanned."),
    Metric("numascope_reclaim_reclaimed_pages", "counter", ("node",), "Pages reclaim freed."),
    Metric(
        "numascope_laundered_pages",
        "counter",
        ("node",),
        "Dirty pages the page daemon's laundry cleaned for reuse (FreeBSD; 0 on Linux).",
    ),
    Metric(
        "numascope_direct_reclaim_stalls",
        "counter",
        ("node",),
        "Allocations that stalled in direct reclaim on the node.",
    ),
    Metric(
        "numascope_direct_reclaim_pages",
        "counter",
        ("node",),
        "Pages freed by direct reclaim on the node.",
    ),
    Metric(
        "numascope_direct_reclaim_stall_seconds",
        "histogram",
        ("node",),
        "How long allocations stalled in direct reclaim, all workloads of the node.",
    ),
    Metric(
        "numascope_node_reclaim_events", "counter", ("node",), "Node-reclaim runs (zone_reclaim)."
    ),
    Metric("numascope_compaction_stalls", "counter", ("node",), "Direct compaction stalls."),
    Metric(
        "numascope_node_lru_bytes",
        "gauge",
        ("node", "type"),
        "File-backed and anonymous memory on the node.",
    ),
    Metric(
        "numascope_node_watermark_bytes",
        "gauge",
        ("node", "watermark"),
        "The node's free-memory watermarks (min, low, high).",
    ),
    # Interrupts.
    Metric(
        "numascope_irq_handled",
        "counter",
        ("irq", "name", "device_node", "node", "locality"),
        "Hard IRQ handlings by handling node; locality compares it with the device's node.",
    ),
    Metric(
        "numascope_irq_seconds",
        "counter",
        ("irq", "name", "device_node", "node", "locality"),
        "Time in hard IRQ handlers by handling node.",
    ),
    Metric("numascope_softirq_handled", "counter", ("vector", "node"), "Softirq runs by node."),
    Metric("numascope_softirq_seconds", "counter", ("vector", "node"), "Time in softirqs by node."),
    # Allocator internals: per-CPU page lists, high orders, compaction, slab.
    Metric(
        "numascope_page_list_allocated_pages",
        "counter",
        ("node",),
        "Pages the node supplied to allocations, all CPUs (per-CPU list or not).",
    ),
    Metric(
        "numascope_zone_locked_pages",
        "counter",
        ("node", "path"),
        "Pages taken from the node's buddy lists under the zone lock: refills of "
        "per-CPU lists (refill) or allocations that bypass them (direct).",
    ),
    Metric(
        "numascope_page_list_drained_pages",
        "counter",
        ("node",),
        "Pages of the node drained from per-CPU lists back to the buddy lists.",
    ),
    Metric(
        "numascope_failed_allocations",
        "counter",
        ("node", "order"),
        "Page allocations that failed, by order class and the node of the CPU that asked.",
    ),
    Metric("numascope_kcompactd_wakeups", "counter", ("node",), "kcompactd wake-ups on the node."),
    Metric(
        "numascope_high_order_pages",
        "counter",
        ("order", "node", "site", "workload"),
        "Pages of high-order allocations by order class, page node, call site (first "
        "kernel frame outside the allocator) and workload, since the site was named; top "
        'sites only, the rest site="other".',
    ),
    Metric(
        "numascope_high_order_allocation_events",
        "counter",
        ("order", "node", "site", "workload"),
        "High-order allocation events, labelled as numascope_high_order_pages.",
    ),
    Metric(
        "numascope_high_order_pages_all_sites",
        "counter",
        ("order", "node"),
        "Pages of high-order allocations with a traced call site, all sites and workloads: "
        "what numascope_high_order_pages adds up to.",
    ),
    Metric(
        "numascope_high_order_allocation_events_all_sites",
        "counter",
        ("order", "node"),
        "High-order allocation events with a traced call site, all sites and workloads: "
        "what numascope_high_order_allocation_events adds up to.",
    ),
    Metric(
        "numascope_slab_objects",
        "counter",
        ("cache", "cpu_node", "requested"),
        "Slab objects allocated by CPUs of cpu_node, by the node the caller requested: "
        "any (no node), local or remote, since the cache was named; top caches only, the "
        'rest cache="other".',
    ),
    Metric(
        "numascope_slab_objects_all_caches",
        "counter",
        ("cpu_node", "requested"),
        "Slab objects allocated by CPUs of cpu_node, all caches: what "
        "numascope_slab_objects adds up to.",
    ),
    *(
        Metric(f"numascope_kernel_{key}", "counter", (), f"The kernel's /proc/vmstat {key}.")
        for key in ("compact_stall", "compact_fail", "compact_success", "compact_daemon_wake")
    ),
    # numascope's own health.
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

METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}

# The kernel's numastat counters keep their own names under this prefix.
NUMASTAT_PREFIX = "numascope_kernel_numastat_"
NUMASTAT_HELP = "The kernel's numastat {key} on this node (allocation events)."
NUMASTAT_KEYS = (
    "numa_hit",
    "numa_miss",
    "numa_foreign",
    "interleave_hit",
    "local_node",
    "other_node",
)


def exposed_names() -> set[str]:
    """Every sample name the exporter may emit (numastat counters included)."""
    names = {n for m in METRICS.values() for n in m.exposed_names()}
    names.update(f"{NUMASTAT_PREFIX}{k}_total" for k in NUMASTAT_KEYS)
    return names
