"""What the balancing section costs per poll: /proc/PID/sched for 10,000 processes.

Builds a fake /proc of `--processes` pids (each of `--threads` threads with a
real-shaped 6.18 sched file of two nodes, plus vmstat and the numa_balancing
sysctl) in a temporary
folder, then times `BalancingCollector.read()` with the budget at the number of
processes (every process read every poll) and at the default budget; then the
same read over this host's real /proc. Prints medians and the fastest and
slowest run. The fake files sit in the page cache: the figure is the parse and
syscall cost, which is what a read of the kernel's generated text also pays
(the kernel's part, formatting the file, is in the real-/proc figure).

    PYTHONPATH=src .venv/bin/python bench/balancing_read.py [--processes 10000] [--runs 7]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from numascope.collectors.balancing import DEFAULT_BUDGET, BalancingCollector

FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "balancing" / "sched-6.18.txt"


def fake_proc(root: Path, count: int, threads: int = 1) -> Path:
    """A /proc with `count` processes of `threads` threads that NUMA balancing has touched."""
    proc = root / "proc"
    (proc / "sys/kernel").mkdir(parents=True)
    (proc / "sys/kernel/numa_balancing").write_text("1\n")
    (proc / "vmstat").write_text("numa_hint_faults 10\nnuma_pages_migrated 5\n")
    # The fixture's header says 40 threads; each fake process says its own count.
    text = FIXTURE.read_text().replace("#threads: 40)", f"#threads: {threads})", 1)
    step = threads + 1  # room for each process's thread ids after its pid
    for pid in range(1000, 1000 + count * step, step):
        (proc / str(pid)).mkdir()
        (proc / str(pid) / "sched").write_text(text)
        for tid in range(pid, pid + threads):
            (proc / str(pid) / "task" / str(tid)).mkdir(parents=True)
            (proc / str(pid) / "task" / str(tid) / "sched").write_text(text)
    return proc


def timed(collector: BalancingCollector, runs: int) -> list[float]:
    """Seconds per read, one per run (after one read to set the baselines)."""
    collector.read()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        collector.read()
        out.append(time.perf_counter() - started)
    return out


def line(what: str, seconds: list[float], reads: int) -> str:
    med = statistics.median(seconds)
    return (
        f"{what}: median {med * 1e3:.1f} ms per poll (min {min(seconds) * 1e3:.1f}, "
        f"max {max(seconds) * 1e3:.1f})"
        + (f", {med / reads * 1e6:.1f} us per process read" if reads else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="threads per fake process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = fake_proc(Path(tmp), args.processes, args.threads)
        sysfs = Path(tmp) / "sys"
        files = args.processes * args.threads
        every = BalancingCollector([0, 1], proc=proc, sysfs=sysfs, budget=files)
        print(
            line(
                f"fake /proc, all {args.processes:,} read", timed(every, args.runs), args.processes
            )
        )
        listing = []
        for _ in range(args.runs):
            started = time.perf_counter()
            every._pids()
            listing.append(time.perf_counter() - started)
        print(line(f"fake /proc, listing {args.processes:,} pids only", listing, 0))
        budgeted = BalancingCollector([0, 1], proc=proc, sysfs=sysfs)
        reads = max(1, min(DEFAULT_BUDGET, files) // args.threads)
        print(line(f"fake /proc, budget {DEFAULT_BUDGET:,}", timed(budgeted, args.runs), reads))
    real = BalancingCollector([0], budget=100_000)
    section = real.read()
    print(
        line(
            f"real /proc ({section.read_this_poll} processes)",
            timed(real, args.runs),
            section.read_this_poll,
        )
    )


if __name__ == "__main__":
    main()
