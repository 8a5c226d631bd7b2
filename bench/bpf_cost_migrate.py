"""Per-event cost of the migrate family's programs, measured by the kernel (bpf_stats).

Every program of the family runs next to an empty program on the same
tracepoint, so both see the same events; compare by the difference. Two phases
per round: page faults with no migration running (bench/fault.c, 64 MiB x 4:
the page hooks' common case, one array read and return) and compaction
(`vm.compact_memory` after freeing every other page of 256 MiB: windows open,
pages counted by node). Statistics are on only while this runs.

    sudo .venv/bin/python bench/bpf_cost_migrate.py [--rounds 5] [--raw]

With --raw the page hooks run on the raw tracepoints, through the page
translation the page-allocation probe calibrates (as `numascope` runs them with
its default families), next to empty programs on the same raw tracepoints.

Prints a Markdown table per phase: median ns per event over the rounds, the
spread, the empty program's figure and the difference.
"""

from __future__ import annotations

import argparse
import functools
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.migrate import attach_migrate
from numascope.probes.page_alloc import attach_page_alloc
from numascope.probes.prog_stats import StatsSession, prog_stats
from numascope.topology import read_topology

MEASURED = {
    "on_migrate_start": "migrate:mm_migrate_pages_start",
    "on_migrate_end": "migrate:mm_migrate_pages",
    "on_page_alloc": "kmem:mm_page_alloc",
    "on_page_free": "kmem:mm_page_free",
}
SCATTER = 256 << 20

Row = tuple[float, float, int]  # ours ns/event, empty ns/event, events


RAW = {"on_page_alloc": "mm_page_alloc", "on_page_free": "mm_page_free"}


def empty_source() -> str:
    return "\n".join(f"int empty_{fn}(void *ctx) {{ return 0; }}" for fn in MEASURED)


def faults_of(binary: Path) -> None:
    subprocess.run([str(binary), "64", "4"], check=True, capture_output=True)


def compaction() -> None:
    area = mmap.mmap(-1, SCATTER)
    for offset in range(0, SCATTER, mmap.PAGESIZE):
        area[offset] = 1
    for offset in range(0, SCATTER, 2 * mmap.PAGESIZE):
        area.madvise(mmap.MADV_DONTNEED, offset, mmap.PAGESIZE)
    Path("/proc/sys/vm/compact_memory").write_text("1\n")
    area.close()


def measure(pairs: dict[str, tuple[int, int]], phase: Callable[[], None]) -> dict[str, Row]:
    before = {fn: (prog_stats(a), prog_stats(b)) for fn, (a, b) in pairs.items()}
    phase()
    time.sleep(0.1)
    out = {}
    for fn, (a, b) in pairs.items():
        sa0, sb0 = before[fn]
        sa1, sb1 = prog_stats(a), prog_stats(b)
        assert sa0 and sb0 and sa1 and sb1
        runs, eruns = sa1.run_count - sa0.run_count, sb1.run_count - sb0.run_count
        if runs and eruns:
            ours = (sa1.run_time_ns - sa0.run_time_ns) / runs
            out[fn] = (ours, (sb1.run_time_ns - sb0.run_time_ns) / eruns, runs)
    return out


def table(title: str, rows: dict[str, list[Row]]) -> None:
    print(f"\n{title}\n")
    print("| program | tracepoint | events/round | ns/event (median, min..max) | empty | above |")
    print("|---|---|---:|---:|---:|---:|")
    for fn, got in rows.items():
        if not got:
            print(f"| {fn} | {MEASURED[fn]} | 0 | no events | | |")
            continue
        ours = statistics.median(r[0] for r in got)
        base = statistics.median(r[1] for r in got)
        events = statistics.median(r[2] for r in got)
        spread = f"{min(r[0] for r in got):.1f}..{max(r[0] for r in got):.1f}"
        print(
            f"| {fn} | {MEASURED[fn]} | {events:.0f} | {ours:.1f} ({spread}) | {base:.1f} "
            f"| {ours - base:+.1f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--raw", action="store_true", help="page hooks on raw tracepoints")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bpf_cost_migrate: run as root", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="numascope-bench-"))
    binary = tmp / "fault"
    subprocess.run(
        ["cc", "-O2", "-o", str(binary), str(Path(__file__).with_name("fault.c"))], check=True
    )
    stats = StatsSession()
    topology = read_topology()
    page = attach_page_alloc(topology) if args.raw else None
    if page is not None:
        page.family.close()  # only its calibrated translation is wanted
        if page.page_map is None:
            print(f"bpf_cost_migrate: no page translation: {page.why_record}", file=sys.stderr)
            return 1
    probe = attach_migrate(topology, page_map=page.page_map if page is not None else None)
    bcc = bcc_loader.import_bcc()
    empty = bcc.BPF(text=empty_source())
    for fn, tp in MEASURED.items():
        name = f"empty_{fn}".encode()
        if args.raw and fn in RAW:
            empty.attach_raw_tracepoint(tp=RAW[fn].encode(), fn_name=name)
        else:
            empty.attach_tracepoint(tp=tp.encode(), fn_name=name)
    fds = probe.family.program_fds()
    ours = {fn: f"{fn}_raw" if args.raw and fn in RAW else fn for fn in MEASURED}
    pairs = {fn: (fds[ours[fn]], empty.funcs[f"empty_{fn}".encode()].fd) for fn in MEASURED}
    faults: dict[str, list[Row]] = {fn: [] for fn in MEASURED}
    compacting: dict[str, list[Row]] = {fn: [] for fn in MEASURED}
    try:
        for _ in range(args.rounds):
            for fn, row in measure(pairs, functools.partial(faults_of, binary)).items():
                faults[fn].append(row)
            for fn, row in measure(pairs, compaction).items():
                compacting[fn].append(row)
    finally:
        empty.cleanup()
        probe.family.close()
        stats.close()
    hooks = "raw tracepoints" if args.raw else "perf tracepoints' records"
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.rounds} rounds, "
        f"page hooks on {hooks}"
    )
    table("Page faults, no migration running (64 MiB x 4 per round)", faults)
    table("Compaction (256 MiB scattered, then vm.compact_memory, per round)", compacting)
    return 0


if __name__ == "__main__":
    sys.exit(main())
