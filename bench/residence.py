"""What residence adds to a poll: the policy step at 10,000 processes, with and without it.

Two sources of processes. `fake`: a procfs tree of N processes under a
temporary folder, each with a numa_maps of 40 mappings (libraries, heap, stack,
anonymous, one shmem and one hugetlb mapping), a status and a cgroup file. `host`:
this host's own live processes, read from /proc. Either way a snapshot lists
the processes (built once, as the live collector's columns), and each poll runs
the policy step as `top` and `export` do: the engine reads the kernel policies
of at most 32 processes within 4 ms (new ones first, then the oldest), the
residence step turns those reads into the section (no second numa_maps read),
then the snapshot is judged. CPU time is the process's own (time.process_time)
per poll; `residence alone` times only the residence step's share of it.

    .venv/bin/python bench/residence.py [--processes 10000] [--polls 40] [--host]

Prints a Markdown table: CPU per poll in ms (median, min..max) with residence
and without, the residence step alone, and how many polls it takes to have
read every process once (how stale a process's residence can be: that many
seconds at a 1 s interval, at least the policy window).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

from numascope.collectors.mempolicy import list_pids
from numascope.config import Config, PolicyHolder
from numascope.pipeline.policy_step import PolicyStep
from numascope.snapshot.columns import as_new_columns
from numascope.snapshot.model import HostInfo, Locality, Snapshot, Workload, WorkloadKind

_LIBS = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libssl.so.3", "libcrypto.so.3")


def fake_numa_maps(pid: int) -> str:
    """40 mappings shaped like a real process's, pages spread over two nodes."""
    lines = []
    address = 0x7F0000000000
    for i in range(34):
        lib = _LIBS[i % len(_LIBS)]
        anon = f" anon={i % 3} dirty={i % 3}" if i % 4 == 3 else ""
        lines.append(
            f"{address:x} default file=/usr/lib/x86_64-linux-gnu/{lib}{anon} mapped={20 + i} "
            f"mapmax={1 + i % 5} N0={10 + i} N1={10} kernelpagesize_kB=4"
        )
        address += 0x10000
    lines.append(f"{address:x} default heap anon=400 dirty=400 N0=300 N1=100 kernelpagesize_kB=4")
    lines.append(
        f"{address + 0x1000000:x} default anon={pid % 5000} N0={pid % 5000} kernelpagesize_kB=4"
    )
    lines.append(
        f"{address + 0x2000000:x} default file=/dev/shm/seg dirty=8 N1=8 kernelpagesize_kB=4"
    )
    lines.append(
        f"{address + 0x4000000:x} default file=/anon_hugepage\\040(deleted) huge "
        "anon=2 dirty=2 N1=2 kernelpagesize_kB=2048"
    )
    lines.append("7ffd5b9e4000 default stack anon=9 dirty=9 active=0 N0=9 kernelpagesize_kB=4")
    lines.append("7ffd5b9fb000 default")
    return "\n".join(lines) + "\n"


def fake_proc(root: Path, count: int) -> list[int]:
    pids = list(range(1000, 1000 + count))
    for pid in pids:
        base = root / str(pid)
        base.mkdir()
        (base / "numa_maps").write_text(fake_numa_maps(pid))
        (base / "status").write_text(
            f"Name:\tworker{pid % 97}\nUid:\t1000\t1000\t1000\t1000\nMems_allowed_list:\t0-1\n"
        )
        (base / "cgroup").write_text("0::/system.slice/app.service\n")
    return pids


def snapshot_of(pids: list[int], seq: int) -> Snapshot:
    by_node = {0: 100, 1: 20}
    loc = Locality(by_node, by_node, 100, 20, 100, 20)
    rows = [
        Workload(f"pid:{p}", WorkloadKind.PROCESS, f"worker{p % 97}", loc, Locality(), pid=p)
        for p in pids
    ]
    return Snapshot(seq, float(seq), 1.0, "bench", HostInfo(), (), processes=as_new_columns(rows))


def run(proc: str, pids: list[int], polls: int, residence: bool) -> tuple[list[float], list[float]]:
    """CPU ms per poll of the whole policy step, and of its residence part."""
    step = PolicyStep(PolicyHolder(Config()), proc=proc)
    own = step.residence
    step.residence = None  # timed apart below
    base = snapshot_of(pids, 1)
    total, alone = [], []
    for seq in range(1, polls + 1):
        snap = dataclasses.replace(base, seq=seq, time=float(seq))
        start = time.process_time()
        judged = step.apply(snap)
        middle = time.process_time()
        if residence and own is not None:
            own.section(snap, judged.policies)
        end = time.process_time()
        total.append((end - start) * 1000)
        alone.append((end - middle) * 1000)
    return total, alone


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}..{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=40)
    parser.add_argument("--host", action="store_true", help="this host's processes, not fakes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.host:
            proc, pids = "/proc", [p for p in list_pids("/proc") if p != os.getpid()]
        else:
            proc, pids = tmp, fake_proc(Path(tmp), args.processes)
        with_res, alone = run(proc, pids, args.polls, residence=True)
        without, _ = run(proc, pids, args.polls, residence=False)
    reads = 32  # engine.POLICY_READS_PER_POLL, fewer when 4 ms run out
    print(
        f"| processes | polls | policy step with residence, CPU ms/poll (median, min..max) "
        "| without residence | residence alone | polls to read every process once (at most "
        f"{reads} a poll) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    source = "this host's /proc" if args.host else "fake /proc"
    print(
        f"| {len(pids):,} ({source}) | {args.polls} | {spread(with_res)} | {spread(without)} "
        f"| {spread(alone)} | {-(-len(pids) // reads)} or more |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
