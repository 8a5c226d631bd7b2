"""The NUMA balancing lines of /proc/PID/sched, parsed.

The kernel prints them after the scheduler fields (kernel/sched/debug.c,
proc_sched_show_numa; the same shape on 6.1 and 6.18):

    mm->numa_scan_seq                            :                    3
    numa_pages_migrated                          :                 1024
    numa_preferred_nid                           :                    0
    total_numa_faults                            :                  517
    current_node=0, numa_group_id=0
    numa_faults node=0 task_private=400 task_shared=0 group_private=0 group_shared=0

`numa_pages_migrated` is a running total per task; the fault figures are the
kernel's decayed averages. The file is the main thread's view: other threads
of the process have their own in /proc/PID/task/TID/sched.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from numascope.snapshot.balancing import NodeFaults

_FAULTS = re.compile(
    r"numa_faults node=(-?\d+) task_private=(\d+) task_shared=(\d+)"
    r" group_private=(\d+) group_shared=(\d+)"
)
READ_BYTES = 16384
_CURRENT = re.compile(r"current_node=(-?\d+), numa_group_id=(\d+)")


@dataclass(frozen=True)
class SchedNuma:
    """One reading of a task's NUMA balancing state."""

    name: str
    pages_migrated: int
    preferred_node: int
    total_faults: int
    current_node: int
    numa_group_id: int = 0
    scan_seq: int = 0
    faults: dict[int, NodeFaults] = field(default_factory=dict)


def parse_sched(text: str) -> SchedNuma | None:
    """The NUMA fields of a /proc/PID/sched text; None when the kernel prints none.

    A kernel built without CONFIG_NUMA_BALANCING prints no numa lines at all.
    """
    name = text[: text.find(" (")].strip() if " (" in text else ""
    # The numa lines come last: skip the scheduler fields before them (the
    # whole file is about 2 KiB, its numa tail about 400 bytes).
    start = text.find("mm->numa_scan_seq")
    if start < 0:
        start = text.find("numa_pages_migrated")
    if start < 0:
        return None
    scalars: dict[str, int] = {}
    current = group = -1
    faults: dict[int, NodeFaults] = {}
    for line in text[start:].splitlines():
        if line.startswith("numa_faults "):
            m = _FAULTS.match(line)
            if m:
                node, tp, ts, gp, gs = (int(g) for g in m.groups())
                faults[node] = NodeFaults(tp, ts, gp, gs)
        elif line.startswith("current_node="):
            m = _CURRENT.match(line)
            if m:
                current, group = int(m.group(1)), int(m.group(2))
        else:
            key, _, value = line.partition(":")
            try:
                scalars[key.strip()] = int(value.strip())
            except ValueError:
                continue
    if "numa_pages_migrated" not in scalars or current < 0:
        return None
    return SchedNuma(
        name=name,
        pages_migrated=scalars["numa_pages_migrated"],
        preferred_node=scalars.get("numa_preferred_nid", -1),
        total_faults=scalars.get("total_numa_faults", 0),
        current_node=current,
        numa_group_id=max(group, 0),
        scan_seq=scalars.get("mm->numa_scan_seq", 0),
        faults=faults,
    )


def read_sched(pid: int, proc: Path = Path("/proc")) -> SchedNuma | None:
    """Parse /proc/PID/sched; None when the process is gone or the kernel prints no numa."""
    # os.read of one buffer: a third cheaper than Path.read_text here, and the
    # file (about 2 KiB) fits one read.
    try:
        fd = os.open(proc / str(pid) / "sched", os.O_RDONLY)
        try:
            data = os.read(fd, READ_BYTES)
        finally:
            os.close(fd)
    except OSError:
        return None
    return parse_sched(data.decode("utf-8", "replace"))


def locality(sched: SchedNuma) -> float | None:
    """Share of the task's faults on memory of the node it runs on (None: no faults)."""
    total = sum(f.task for f in sched.faults.values())
    if total <= 0:
        return None
    here = sched.faults.get(sched.current_node)
    return (here.task if here is not None else 0) / total
