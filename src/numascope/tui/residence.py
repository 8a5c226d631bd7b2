"""The Memory tab: where memory lives now, per node, process and cgroup.

Bytes per node (binary units), split anon / file / shared, and MOVED: the share
of a process's resident bytes on nodes beyond where its allocations were
counted (docs/residence.md). READ says how old a process's figures are: they
come from the policy step's numa_maps reads, which go round-robin within a
budget.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from numascope.snapshot.model import Snapshot
from numascope.snapshot.residence import ResidentBytes, WorkloadResidence, sum_resident
from numascope.tui.format import percent, size

TOP_PROCESSES = 20
TOP_CGROUPS = 10
# A moved share from here on is marked `*`.
MOVED_HIGH = 0.25


def _table(*headers: str, left: int = 1) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False, pad_edge=False)
    for i, name in enumerate(headers):
        table.add_column(name, justify="left" if i < left else "right", no_wrap=True)
    return table


def _cells(resident: ResidentBytes, nodes: tuple[int, ...]) -> list[str]:
    by_node = resident.by_node()
    return [
        *(size(by_node.get(n, 0)) for n in nodes),
        size(resident.kind_total("anon")),
        size(resident.kind_total("file")),
        size(resident.kind_total("shared")),
    ]


def _moved(share: float | None) -> Text:
    if share is None:
        return Text("-")
    marked = share >= MOVED_HIGH
    return Text(percent(share) + ("*" if marked else " "), style="bold red" if marked else "")


def _age(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


def _nodes_table(snapshot: Snapshot) -> Table:
    assert snapshot.residence is not None
    table = _table("NODE", "ANON", "FILE", "SHMEM", "HUGETLB", "HUGETLB FREE")
    for n in snapshot.residence.nodes:
        table.add_row(
            str(n.node),
            size(n.anon_bytes),
            size(n.file_bytes),
            size(n.shmem_bytes),
            size(n.hugetlb_bytes),
            size(n.hugetlb_free_bytes),
        )
    return table


def _process_table(snapshot: Snapshot, nodes: tuple[int, ...]) -> Table:
    section = snapshot.residence
    assert section is not None
    heads = ("PID", "NAME", *(f"NODE {n}" for n in nodes), "ANON", "FILE", "SHARED")
    table = _table(*heads, "MOVED", "READ", left=2)
    rows: list[WorkloadResidence] = sorted(
        section.processes, key=lambda r: r.resident.total, reverse=True
    )
    for row in rows[:TOP_PROCESSES]:
        table.add_row(
            str(row.pid or "-"),
            row.name[:20],
            *_cells(row.resident, nodes),
            _moved(row.moved_share),
            _age(max(0.0, snapshot.time - row.read_at)),
        )
    rest = [r.resident for r in rows[TOP_PROCESSES:]]
    others = section.process_count - min(len(rows), TOP_PROCESSES)
    if others > 0:
        other = sum_resident([*rest, section.other_processes])
        table.add_row("", f"{others} more", *_cells(other, nodes), "", "")
    return table


def _cgroup_table(snapshot: Snapshot, nodes: tuple[int, ...]) -> Table:
    section = snapshot.residence
    assert section is not None
    table = _table("CGROUP", *(f"NODE {n}" for n in nodes), "ANON", "FILE", "SHARED", "MOVED")
    rows = sorted(section.cgroups, key=lambda r: r.resident.total, reverse=True)
    for row in rows[:TOP_CGROUPS]:
        table.add_row(
            (row.cgroup or row.name)[-40:], *_cells(row.resident, nodes), _moved(row.moved_share)
        )
    return table


def memory_panel(snapshot: Snapshot) -> RenderableType:
    """The Memory tab's content for one snapshot."""
    section = snapshot.residence
    if section is None:
        return Text(
            "No residence in this snapshot: it is read from /proc and /sys on this host "
            "(a capture made before numascope read residence has none)."
        )
    nodes = snapshot.node_ids or tuple(n.node for n in section.nodes)
    parts: list[RenderableType] = [
        Text("Nodes (nodeN/meminfo)", style="bold"),
        _nodes_table(snapshot),
        Text(""),
        Text(
            f"Processes (numa_maps, {section.process_count} read; MOVED: resident away from "
            f"where allocated, * from {percent(MOVED_HIGH)}; READ: age of the figures)",
            style="bold",
        ),
        _process_table(snapshot, nodes),
    ]
    if section.cgroups:
        parts += [
            Text(""),
            Text("Cgroups (memory.numa_stat, with their descendants)", style="bold"),
            _cgroup_table(snapshot, nodes),
        ]
    return Group(*parts)
