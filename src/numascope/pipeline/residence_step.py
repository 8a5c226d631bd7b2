"""Residence for a snapshot, from the policy step's numa_maps reads, cgroups'
numa_stat and the nodes' meminfo.

Processes cost nothing extra: each kernel policy the engine reads (within its
budget, round-robin) carries the process's residence from the same numa_maps
read, so a process's residence is as old as its policy read. Cgroups' numa_stat
needs no page-table walk, but a host may have thousands: at most
`cgroup_reads_per_poll` are read per poll, the longest unread first.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from pathlib import Path

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.collectors.residence import read_cgroup_residence, read_node_residence
from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import Snapshot, Workload
from numascope.snapshot.residence import (
    RESIDENT_KINDS,
    ResidenceSection,
    ResidentBytes,
    WorkloadResidence,
    moved_share,
)

CGROUP_READS_PER_POLL = 64
# Processes named in a snapshot's section; the rest are summed into one row.
PROCESS_ROWS = 200

Cell = tuple[str, int]  # (kind, node)


def _cells(resident: ResidentBytes) -> dict[Cell, int]:
    return {
        (kind, node): n for kind in RESIDENT_KINDS for node, n in resident.of_kind(kind).items()
    }


def _residence(
    workload: Workload | None,
    key: str,
    name: str,
    resident: ResidentBytes,
    read_at: float,
    pid: int | None = None,
) -> WorkloadResidence:
    allocated = workload.total.pages_by_node if workload is not None else {}
    return WorkloadResidence(
        key=key,
        name=workload.name if workload is not None else name,
        resident=resident,
        pid=workload.pid if workload is not None else pid,
        cgroup=workload.cgroup if workload is not None else None,
        read_at=read_at,
        moved_share=moved_share(resident.by_node(), allocated),
    )


class ResidenceStep:
    """Keeps each workload's last residence read and builds the snapshot's section."""

    def __init__(
        self,
        *,
        sysfs: Path = Path("/sys"),
        cgroup_root: Path = Path("/sys/fs/cgroup"),
        cgroup_reads_per_poll: int = CGROUP_READS_PER_POLL,
        process_rows: int = PROCESS_ROWS,
    ) -> None:
        self.sysfs = sysfs
        self.cgroup_root = cgroup_root
        self.cgroup_reads_per_poll = cgroup_reads_per_poll
        self.process_rows = process_rows
        # pid -> (the policy read it came from, its residence, its total bytes)
        self._processes: dict[int, tuple[ProcessPolicy, WorkloadResidence, int]] = {}
        # Every kept process's bytes summed, kept up to date as reads come and
        # go (summing 10,000 rows each poll would cost more than the reads).
        self._sum: dict[Cell, int] = {}
        # cgroup key -> its residence (None: no numa_stat for it)
        self._cgroups: dict[str, WorkloadResidence | None] = {}

    def section(
        self, snapshot: Snapshot, policies: Mapping[int, ProcessPolicy]
    ) -> ResidenceSection:
        """Residence at `snapshot`: processes as last read, cgroups, nodes now."""
        rows = self._process_rows(snapshot, policies)
        other = dict(self._sum)
        for row in rows:
            for cell, n in _cells(row.resident).items():
                other[cell] -= n
        return ResidenceSection(
            processes=rows,
            other_processes=ResidentBytes(
                *(
                    {node: n for (k, node), n in other.items() if k == kind and n}
                    for kind in RESIDENT_KINDS
                )
            ),
            process_count=len(self._processes),
            cgroups=self._cgroup_rows(snapshot),
            nodes=read_node_residence(snapshot.node_ids, sysfs=self.sysfs),
        )

    def _process_rows(
        self, snapshot: Snapshot, policies: Mapping[int, ProcessPolicy]
    ) -> tuple[WorkloadResidence, ...]:
        kept: dict[int, tuple[ProcessPolicy, WorkloadResidence, int]] = {}
        for pid, policy in policies.items():
            cached = self._processes.pop(pid, None)
            if cached is not None and cached[0] is policy:
                kept[pid] = cached  # not read again since: the same figures
                continue
            if cached is not None:
                self._add(cached[1].resident, -1)
            key = f"pid:{pid}"
            workload = snapshot.process(key)
            row = _residence(workload, key, policy.comm, policy.residence, snapshot.time, pid)
            self._add(row.resident, 1)
            kept[pid] = (policy, row, row.resident.total)
        for _, gone, _ in self._processes.values():  # exited, or no longer judged
            self._add(gone.resident, -1)
        self._processes = kept
        largest = heapq.nlargest(self.process_rows, kept.values(), key=lambda k: k[2])
        return tuple(row for _, row, _ in largest)

    def _add(self, resident: ResidentBytes, sign: int) -> None:
        for cell, n in _cells(resident).items():
            left = self._sum.get(cell, 0) + sign * n
            if left:
                self._sum[cell] = left
            else:
                del self._sum[cell]

    def _cgroup_rows(self, snapshot: Snapshot) -> tuple[WorkloadResidence, ...]:
        paths = _cgroup_paths(snapshot.cgroups)
        unread = [key for key in paths if key not in self._cgroups]
        known = sorted(
            (key for key in paths if self._cgroups.get(key) is not None),
            key=lambda key: self._read_at(key),
        )
        fresh = {key: self._cgroups[key] for key in paths if key in self._cgroups}
        for key in (unread + known)[: self.cgroup_reads_per_poll]:
            resident = read_cgroup_residence(paths[key], cgroup_root=self.cgroup_root)
            if resident is None:
                fresh[key] = None  # no memory.numa_stat: not looked for again
                continue
            workload = _find(snapshot.cgroups, key)
            fresh[key] = _residence(workload, key, paths[key], resident, snapshot.time)
        self._cgroups = fresh
        return tuple(row for row in fresh.values() if row is not None)

    def _read_at(self, key: str) -> float:
        row = self._cgroups.get(key)
        return row.read_at if row is not None else 0.0


def _cgroup_paths(cgroups: Sequence[Workload]) -> dict[str, str]:
    """key -> cgroup path of every cgroup row (a live collector's columns are read
    as columns: no row is built for the thousands not read this poll)."""
    if isinstance(cgroups, WorkloadColumns):
        pairs = zip(cgroups.keys.tolist(), cgroups.cgroups.tolist(), strict=True)
        return {key: path for key, path in pairs if path is not None}
    return {w.key: w.cgroup for w in cgroups if w.cgroup is not None}


def _find(workloads: Sequence[Workload], key: str) -> Workload | None:
    if isinstance(workloads, WorkloadColumns):
        return workloads.get(key)
    return next((w for w in workloads if w.key == key), None)
