"""The balancing and memory-tier metrics (docs/balancing.md), declared like the rest."""

from __future__ import annotations

from numascope.exporters.prometheus.metric import Metric

_HOST = "The kernel's /proc/vmstat {key}: NUMA balancing's running total for the host."
# /proc/vmstat key -> metric (counters name their unit last: pages migrated are pages).
HOST_COUNTERS = {
    "numa_pte_updates": "numascope_numa_balancing_pte_updates",
    "numa_huge_pte_updates": "numascope_numa_balancing_huge_pte_updates",
    "numa_hint_faults": "numascope_numa_balancing_hint_faults",
    "numa_hint_faults_local": "numascope_numa_balancing_hint_faults_local",
    "numa_pages_migrated": "numascope_numa_balancing_migrated_pages",
}

BALANCING_METRICS = (
    Metric(
        "numascope_numa_balancing_mode",
        "gauge",
        (),
        "kernel.numa_balancing: 0 off, 1 normal (move memory toward CPUs), 2 memory "
        "tiering, 3 both; absent when the kernel has no NUMA balancing.",
    ),
    *(Metric(name, "counter", (), _HOST.format(key=key)) for key, name in HOST_COUNTERS.items()),
    Metric(
        "numascope_numa_balancing_processes",
        "gauge",
        ("verdict",),
        "Processes by NUMA balancing verdict (off, quiet, local, improving, churning, stuck) "
        "at their latest reading; processes balancing never touched are not counted.",
    ),
    Metric(
        "numascope_numa_balancing_process_migrated_pages",
        "counter",
        ("workload", "pid"),
        "Pages NUMA balancing migrated for a process, summed over its threads (up to 64; "
        "/proc/PID/task/TID/sched numa_pages_migrated), counted from when the process was "
        "first named; the processes that migrated most, up to the workload budget, and "
        "workload=other for the rest: summed, the growth of every read process's count. "
        "Not the host counter: exited processes and threads beyond 64 are not in it.",
    ),
    Metric(
        "numascope_numa_balancing_process_locality_ratio",
        "gauge",
        ("workload", "pid", "verdict"),
        "Share (0..1) of a process's NUMA hinting faults on memory of the node it runs on, "
        "with its balancing verdict; the processes that migrated most, up to the budget.",
    ),
    Metric(
        "numascope_memory_tier",
        "gauge",
        ("node", "tier"),
        "1 for each node, labelled with its memory tier (memory_tierN: lower is faster); "
        "absent when the kernel has no memory-tiering sysfs.",
    ),
    Metric(
        "numascope_memory_tier_demotion_enabled",
        "gauge",
        (),
        "/sys/kernel/mm/numa/demotion_enabled: 1 when reclaim may demote pages to a lower "
        "tier; absent when the kernel has no such file.",
    ),
    Metric(
        "numascope_memory_tier_promoted_pages",
        "counter",
        ("node",),
        "Pages promoted to this node from a lower tier (nodeN/vmstat pgpromote_success).",
    ),
    Metric(
        "numascope_memory_tier_host_promoted_pages",
        "counter",
        (),
        "Pages promoted to a faster tier, whole host (/proc/vmstat pgpromote_success).",
    ),
    Metric(
        "numascope_memory_tier_host_demoted_pages",
        "counter",
        ("reason",),
        "Pages demoted to a slower tier, whole host, by who demoted them (/proc/vmstat "
        "pgdemote_*; on 6.1 kernels the only demotion counts, nodeN/vmstat has none).",
    ),
    Metric(
        "numascope_memory_tier_demoted_pages",
        "counter",
        ("node", "reason"),
        "Pages demoted from this node to a lower tier, by who demoted them (nodeN/vmstat "
        "pgdemote_kswapd, _direct, _khugepaged, _proactive where the kernel has it).",
    ),
)
