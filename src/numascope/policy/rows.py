"""The columns the policy reads of a snapshot's processes, as plain lists.

A live collector's `WorkloadColumns` gives them without building a Workload
object per row; any other sequence of workloads (a replayed capture, FreeBSD)
is read row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from numascope.snapshot import Workload, WorkloadKind
from numascope.workload_columns import WorkloadColumns


@dataclass(frozen=True)
class ProcessRows:
    keys: list[str]
    kinds: list[WorkloadKind]
    names: list[str]
    pids: list[int | None]
    cgroups: list[str | None]
    alive: list[bool]
    delta_pages: list[int]


def process_rows(processes: Sequence[Workload]) -> ProcessRows:
    if isinstance(processes, WorkloadColumns):
        return ProcessRows(
            processes.keys.tolist(),
            processes.kinds.tolist(),
            processes.names.tolist(),
            processes.pids.tolist(),
            processes.cgroups.tolist(),
            processes.alive.tolist(),
            processes.delta_page_counts.tolist(),
        )
    return ProcessRows(
        [w.key for w in processes],
        [w.kind for w in processes],
        [w.name for w in processes],
        [w.pid for w in processes],
        [w.cgroup for w in processes],
        [w.alive for w in processes],
        [w.delta.pages for w in processes],
    )
