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
kernel's decayed averages. Each thread has its own file
(/proc/PID/task/TID/sched; /proc/PID/sched is the main thread's), and in a
server the main thread often only waits: a process is read as all its threads
(`read_process_sched`), up to `MAX_THREADS` of them; the header line's
"#threads: N" spares listing /proc/PID/task for a process of one thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from numascope.snapshot.balancing import NodeFaults

_FAULTS = re.compile(
    r"numa_faults node=(-?\d+) task_private=(\d+) task_shared=(\d+)"
    r" group_private=(\d+) group_shared=(\d+)"
)
READ_BYTES = 16384
# Threads read per process and poll (the main thread, then the lowest ids): a
# bound on one process's share of the poll's reads.
MAX_THREADS = 64
_CURRENT = re.compile(r"current_node=(-?\d+), numa_group_id=(\d+)")
_THREADS = re.compile(r"#threads: (\d+)\)")


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
    # The header's "#threads: N": threads in the task's process when read.
    threads: int = 1


def parse_sched(text: str) -> SchedNuma | None:
    """The NUMA fields of a /proc/PID/sched text; None when the kernel prints none.

    A kernel built without CONFIG_NUMA_BALANCING prints no numa lines at all.
    """
    name = text[: text.find(" (")].strip() if " (" in text else ""
    header = _THREADS.search(text, 0, text.find("\n"))
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
        threads=int(header.group(1)) if header else 1,
    )


def _read(path: str) -> SchedNuma | None:
    # os.read of one buffer: a third cheaper than Path.read_text here, and the
    # file (about 2 KiB) fits one read.
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, READ_BYTES)
        finally:
            os.close(fd)
    except OSError:
        return None
    return parse_sched(data.decode("utf-8", "replace"))


@dataclass(frozen=True)
class ProcessSched:
    """A process's NUMA balancing state: each of its threads' readings, by thread id.

    Pages migrated and faults are the threads' sums; the preferred and current
    node are those of the busiest thread (the most faults; the main thread when
    none has any), and locality weighs each thread's faults on the node it runs on.
    """

    pid: int
    threads: Mapping[int, SchedNuma]

    @property
    def main(self) -> SchedNuma:
        return self.threads[self.pid]  # read_process_sched reads it first, or gives None

    @property
    def busiest(self) -> SchedNuma:
        # max keeps the first of equals: the main thread (read first) when none faulted.
        return max(self.threads.values(), key=lambda t: t.total_faults)

    @property
    def name(self) -> str:
        return self.main.name

    @property
    def pages_migrated(self) -> int:
        return sum(t.pages_migrated for t in self.threads.values())

    @property
    def total_faults(self) -> int:
        return sum(t.total_faults for t in self.threads.values())

    @property
    def faults(self) -> dict[int, NodeFaults]:
        """Per node: the threads' own faults summed; the group's figures once (every
        thread of a numa group prints the same group figures)."""
        if len(self.threads) == 1:
            return dict(self.main.faults)
        busiest = self.busiest.faults
        nodes = sorted({n for t in self.threads.values() for n in t.faults})
        out = {}
        for node in nodes:
            own = [t.faults[node] for t in self.threads.values() if node in t.faults]
            group = busiest.get(node, NodeFaults(0, 0, 0, 0))
            out[node] = NodeFaults(
                sum(f.task_private for f in own),
                sum(f.task_shared for f in own),
                group.group_private,
                group.group_shared,
            )
        return out

    def locality(self) -> float | None:
        """Share of the threads' faults on memory of the node each runs on (None: none)."""
        total = here = 0
        for t in self.threads.values():
            total += sum(f.task for f in t.faults.values())
            own = t.faults.get(t.current_node)
            here += own.task if own is not None else 0
        return here / total if total > 0 else None


def read_process_sched(
    pid: int, proc: Path = Path("/proc"), max_threads: int = MAX_THREADS
) -> ProcessSched | None:
    """Every thread's sched file of process `pid` (up to `max_threads`); None when the
    process is gone or the kernel prints no numa lines."""
    # Strings, not Paths: four Path joins a process were a third of a poll.
    base = f"{os.fspath(proc)}/{pid}"
    main = _read(f"{base}/sched")
    if main is None:
        return None
    threads = {pid: main}
    # Most processes have one thread, which the header says: no task listing then.
    if main.threads > 1:
        try:
            tids = sorted(int(t) for t in os.listdir(f"{base}/task") if t.isdigit())
        except OSError:
            tids = []
        for tid in [t for t in tids if t != pid][: max_threads - 1]:
            sched = _read(f"{base}/task/{tid}/sched")
            if sched is not None:
                threads[tid] = sched
    return ProcessSched(pid, threads)
