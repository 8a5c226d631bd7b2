"""Residence gauges: where memory lives now, per process, cgroup and node.

`numascope_resident_bytes{workload,pid,node,kind}` names the processes with the
most resident memory, as many as `prometheus.workload-limit`, and puts every
other process whose numa_maps has been read under `workload="other"`: summed by
(node, kind) it equals `numascope_resident_processes_bytes`, every read
process's memory. That sum counts a page shared by several processes once per
process (as `numastat -p` does for each), so it is not the node's used memory:
`numascope_resident_node_bytes` is. Cgroups nest (each counts its
descendants), so their series are not meant to be summed.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from numascope.exporters.prometheus.budget import OTHER
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.exporters.prometheus.metric import Metric
from numascope.snapshot.residence import (
    RESIDENT_KINDS,
    ResidenceSection,
    ResidentBytes,
    WorkloadResidence,
    sum_resident,
)

if TYPE_CHECKING:
    from numascope.exporters.prometheus.families import Samples

_KINDS = "kind is anon, file or shared (see docs/residence.md)"

RESIDENCE_METRICS = (
    Metric(
        "numascope_resident_bytes",
        "gauge",
        ("workload", "pid", "node", "kind"),
        "Bytes of a process resident on a node at its latest numa_maps read, by kind; "
        f"workload=other holds every other read process. {_KINDS}.",
    ),
    Metric(
        "numascope_resident_processes_bytes",
        "gauge",
        ("node", "kind"),
        "Every read process's resident bytes on a node, summed (what "
        "numascope_resident_bytes adds up to; shared pages once per process).",
    ),
    Metric(
        "numascope_resident_processes_read",
        "gauge",
        (),
        "Live processes whose residence has been read (numa_maps, within the read budget).",
    ),
    Metric(
        "numascope_resident_oldest_read_seconds",
        "gauge",
        (),
        "Age of the oldest residence read among the named processes, in seconds.",
    ),
    Metric(
        "numascope_resident_moved_ratio",
        "gauge",
        ("workload", "pid"),
        "Share of a named process's resident bytes on nodes beyond where its "
        "allocations were counted, 0..1 (absent when none were counted).",
    ),
    Metric(
        "numascope_resident_cgroup_bytes",
        "gauge",
        ("cgroup", "node", "kind"),
        "Bytes of a cgroup (and its descendants) resident on a node, from memory.numa_stat; "
        f"{_KINDS}; on cgroup v1 shmem counts as anon.",
    ),
    Metric(
        "numascope_resident_node_bytes",
        "gauge",
        ("node", "kind"),
        "Memory of a node by kind, from nodeN/meminfo: anon, file (less shmem), shmem, "
        "hugetlb (every pool's pages, used or free).",
    ),
    Metric(
        "numascope_resident_node_hugetlb_free_bytes",
        "gauge",
        ("node",),
        "Free pages of a node's hugetlb pools, in bytes.",
    ),
)


def _resident(s: Samples, name: str, base: tuple[str, ...], resident: ResidentBytes) -> None:
    for kind in RESIDENT_KINDS:
        for node, n in resident.of_kind(kind).items():
            s.add(name, (*base, node_label(node), kind), n)


def _named(rows: tuple[WorkloadResidence, ...], limit: int) -> list[WorkloadResidence]:
    return heapq.nlargest(limit, rows, key=lambda r: r.resident.total)


def residence_samples(s: Samples, section: ResidenceSection | None, limit: int, now: float) -> None:
    """Add the residence gauges (nothing when the snapshot has no residence)."""
    if section is None:
        return
    named = _named(section.processes, limit)
    ids = {id(r) for r in named}
    for row in named:
        base = (label_value(row.name), str(row.pid) if row.pid is not None else "")
        _resident(s, "numascope_resident_bytes", base, row.resident)
        if row.moved_share is not None:
            s.set("numascope_resident_moved_ratio", base, row.moved_share)
    rest = [r.resident for r in section.processes if id(r) not in ids]
    other = sum_resident([*rest, section.other_processes])
    _resident(s, "numascope_resident_bytes", (OTHER, ""), other)
    _resident(s, "numascope_resident_processes_bytes", (), section.all_processes())
    s.set("numascope_resident_processes_read", (), section.process_count)
    if named:
        oldest = min(r.read_at for r in named)
        s.set("numascope_resident_oldest_read_seconds", (), max(0.0, now - oldest))
    for row in _named(section.cgroups, limit):
        _resident(
            s, "numascope_resident_cgroup_bytes", (label_value(row.cgroup or ""),), row.resident
        )
    for node in section.nodes:
        label = node_label(node.node)
        for kind, n in (
            ("anon", node.anon_bytes),
            ("file", node.file_bytes),
            ("shmem", node.shmem_bytes),
            ("hugetlb", node.hugetlb_bytes),
        ):
            s.set("numascope_resident_node_bytes", (label, kind), n)
        s.set("numascope_resident_node_hugetlb_free_bytes", (label,), node.hugetlb_free_bytes)
