"""Where memory lives now: resident bytes per node, per workload and per node.

Allocation counts say where pages were first placed; residence says where they
are at the last read, after NUMA balancing, demotion, `migratepages` or a
cpuset change may have moved them. Bytes, not pages: a 2 MiB or 1 GiB hugetlb
page counts for its size.

Kinds (see docs/residence.md for how a mapping is classified):
`anon` private anonymous memory, `file` page cache mapped from files, `shared`
memory shared between processes (shmem, SYSV, memfd, and mappings whose pages
more than one process maps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

RESIDENT_KINDS: tuple[str, ...] = ("anon", "file", "shared")


@dataclass(frozen=True)
class ResidentBytes:
    """Bytes resident per node (kernel node ids), split by kind."""

    anon: Mapping[int, int] = field(default_factory=dict)
    file: Mapping[int, int] = field(default_factory=dict)
    shared: Mapping[int, int] = field(default_factory=dict)

    def of_kind(self, kind: str) -> Mapping[int, int]:
        """The per-node bytes of one of RESIDENT_KINDS."""
        by_kind: dict[str, Mapping[int, int]] = {
            "anon": self.anon,
            "file": self.file,
            "shared": self.shared,
        }
        return by_kind[kind]

    def by_node(self) -> dict[int, int]:
        """Bytes per node, all kinds together."""
        out: dict[int, int] = {}
        for part in (self.anon, self.file, self.shared):
            for node, n in part.items():
                out[node] = out.get(node, 0) + n
        return out

    @property
    def total(self) -> int:
        return sum(self.by_node().values())

    def kind_total(self, kind: str) -> int:
        """Bytes of one kind over every node."""
        return sum(self.of_kind(kind).values())


@dataclass(frozen=True)
class WorkloadResidence:
    """One process or cgroup: where its memory is, and how far that is from where
    it was allocated.

    `read_at` is the time (the snapshot clock, seconds since the epoch) of the
    read these figures come from: residence is read within a budget,
    round-robin, so it may be older than the snapshot (see docs/residence.md).
    `moved_share`, worked out at that read against the allocations counted
    until then, is the share of resident bytes on nodes beyond what that
    node's share of the workload's allocations accounts for (0: memory sits
    where it was allocated; 1: none of it does); None when numascope counted
    no allocations for it.
    """

    key: str
    name: str
    resident: ResidentBytes
    pid: int | None = None
    cgroup: str | None = None
    read_at: float = 0.0
    moved_share: float | None = None


@dataclass(frozen=True)
class NodeResidence:
    """One node's memory by kind, from `nodeN/meminfo` and its hugepage pools."""

    node: int
    anon_bytes: int = 0
    file_bytes: int = 0
    shmem_bytes: int = 0
    hugetlb_bytes: int = 0  # every size's pool: total pages times their size
    hugetlb_free_bytes: int = 0


@dataclass(frozen=True)
class ResidenceSection:
    """Residence at one snapshot: the processes read so far, cgroups, nodes.

    `processes` holds the largest processes only (a snapshot of 10,000 rows
    would be megabytes in a capture); `other_processes` is the rest of the
    processes read, summed, so `processes` plus `other_processes` is every
    live process whose numa_maps has been read (`process_count` of them).
    """

    processes: tuple[WorkloadResidence, ...] = ()
    other_processes: ResidentBytes = field(default_factory=ResidentBytes)
    process_count: int = 0
    cgroups: tuple[WorkloadResidence, ...] = ()
    nodes: tuple[NodeResidence, ...] = ()

    def all_processes(self) -> ResidentBytes:
        """Every read process's residence, summed (shared pages once per process)."""
        return sum_resident([*(p.resident for p in self.processes), self.other_processes])


def moved_share(resident: Mapping[int, int], allocated: Mapping[int, int]) -> float | None:
    """Share of resident bytes beyond where allocations put them, 0..1.

    For each node, the resident share minus the allocated share, counted where
    positive, summed: the least share of the memory that must have moved (or
    been allocated before numascope started counting) for residence to differ
    from allocation this way. None when nothing was allocated or resident.
    """
    allocated_known = {n: p for n, p in allocated.items() if n >= 0 and p > 0}
    res_total = sum(resident.values())
    alloc_total = sum(allocated_known.values())
    if not res_total or not alloc_total:
        return None
    excess = 0.0
    for node, n in resident.items():
        excess += max(0.0, n / res_total - allocated_known.get(node, 0) / alloc_total)
    return min(1.0, excess)


def sum_resident(parts: Iterable[ResidentBytes]) -> ResidentBytes:
    """One ResidentBytes holding the sum of `parts`."""
    sums: dict[str, dict[int, int]] = {k: {} for k in RESIDENT_KINDS}
    for part in parts:
        for kind in RESIDENT_KINDS:
            into = sums[kind]
            for node, n in part.of_kind(kind).items():
                into[node] = into.get(node, 0) + n
    return ResidentBytes(sums["anon"], sums["file"], sums["shared"])
