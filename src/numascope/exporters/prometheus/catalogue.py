"""Every metric the exporter can emit: name, type, labels and help, in one table.

The dashboard and alert-rule tests hold their queries against this table, so a
renamed metric breaks a test instead of a panel. Counter names here carry no
`_total`: prometheus_client appends it on the way out.
"""

from __future__ import annotations

from numascope.exporters.prometheus.catalogue_balancing import BALANCING_METRICS
from numascope.exporters.prometheus.catalogue_self import SELF_METRICS
from numascope.exporters.prometheus.metric import Metric
from numascope.exporters.prometheus.migration_series import MIGRATION_METRICS
from numascope.exporters.prometheus.residence import RESIDENCE_METRICS

__all__ = [
    "METRICS",
    "NUMASTAT_HELP",
    "NUMASTAT_KEYS",
    "NUMASTAT_PREFIX",
    "POD",
    "PREFIX",
    "WORKLOAD",
    "Metric",
    "exposed_names",
]

PREFIX = "numascope_"


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
    *RESIDENCE_METRICS,  # where memory lives now (residence.py)
    # NUMA balancing and memory tiers (catalogue_balancing.py).
    *BALANCING_METRICS,
    # Migrations by reason and workload, and the kernel's counters (migration_series.py).
    *MIGRATION_METRICS,
    # numascope's own health (catalogue_self.py).
    *SELF_METRICS,
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
