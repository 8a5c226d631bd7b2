"""The report's residence section: where memory lived at the end of the capture.

From the last snapshot that carries residence: the nodes' memory by kind, the
largest processes per node with anon/file/shared and the moved share, and
cgroups from memory.numa_stat. Bytes as MiB with a thousands separator, so a
reader can add columns up by eye.
"""

from __future__ import annotations

from numascope.capture.model import Capture
from numascope.exporters.report.model import Section, Table
from numascope.snapshot.residence import (
    ResidenceSection,
    ResidentBytes,
    WorkloadResidence,
    sum_resident,
)

TOP = 15


def _mib(num_bytes: int) -> str:
    return f"{num_bytes / 2**20:,.1f}"


def _cells(resident: ResidentBytes, nodes: tuple[int, ...]) -> tuple[str, ...]:
    by_node = resident.by_node()
    return (
        *(_mib(by_node.get(n, 0)) for n in nodes),
        _mib(resident.kind_total("anon")),
        _mib(resident.kind_total("file")),
        _mib(resident.kind_total("shared")),
    )


def _moved(row: WorkloadResidence) -> str:
    return "-" if row.moved_share is None else f"{100 * row.moved_share:.0f}%"


def _last(capture: Capture) -> tuple[float, ResidenceSection] | None:
    for snap in reversed(capture.snapshots):
        if snap.residence is not None:
            return snap.time, snap.residence
    return None


def residence_section(capture: Capture) -> Section | None:
    """The residence section, or None when no snapshot of the capture carries one."""
    found = _last(capture)
    if found is None:
        return None
    at, section = found
    nodes = capture.snapshots[-1].node_ids or tuple(n.node for n in section.nodes)
    kinds = ("anon MiB", "file MiB", "shared MiB")
    node_heads = tuple(f"node {n} MiB" for n in nodes)
    node_table = Table(
        "Memory per node (nodeN/meminfo), MiB",
        ("node", "anon", "file", "shmem", "hugetlb", "hugetlb free"),
        tuple(
            (
                str(n.node),
                _mib(n.anon_bytes),
                _mib(n.file_bytes),
                _mib(n.shmem_bytes),
                _mib(n.hugetlb_bytes),
                _mib(n.hugetlb_free_bytes),
            )
            for n in section.nodes
        ),
    )
    rows = sorted(section.processes, key=lambda r: r.resident.total, reverse=True)
    process_rows = [
        (
            str(r.pid or "-"),
            r.name,
            *_cells(r.resident, nodes),
            _moved(r),
            f"{max(0.0, at - r.read_at):.0f}",
        )
        for r in rows[:TOP]
    ]
    others = section.process_count - len(process_rows)
    if others > 0:
        rest = sum_resident([*(r.resident for r in rows[TOP:]), section.other_processes])
        process_rows.append(("", f"{others} more processes", *_cells(rest, nodes), "", ""))
    process_table = Table(
        "Resident memory of the largest processes (numa_maps, pages weighted by their size)",
        ("pid", "comm", *node_heads, *kinds, "moved", "read age s"),
        tuple(process_rows),
    )
    cgroups = sorted(section.cgroups, key=lambda r: r.resident.total, reverse=True)[:TOP]
    cgroup_table = Table(
        "Resident memory of cgroups (memory.numa_stat, descendants included)",
        ("cgroup", *node_heads, *kinds, "moved"),
        tuple((r.cgroup or r.name, *_cells(r.resident, nodes), _moved(r)) for r in cgroups),
        empty="No cgroup has a memory.numa_stat (no memory controller there).",
    )
    lines = (
        "Where memory lived at the last snapshot, against where numascope counted it "
        "allocated. moved: the share of a workload's resident bytes on nodes beyond "
        "its share of allocations there (see docs/residence.md). A process's figures "
        "are as old as its last numa_maps read (read age).",
    )
    return Section(
        "Memory residence", lines=lines, tables=(node_table, process_table, cgroup_table)
    )
