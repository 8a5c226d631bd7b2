"""Per-event cost of the allocator and slab programs, measured by the kernel (bpf_stats).

Every program runs next to an empty program on the same tracepoint, so both see
the same events; compare by the difference. Statistics are on only while this
runs (bpf_enable_stats). Workload per round: pages allocated on CPU 0 and freed
on CPU 1 (tests/kernel/cross_cpu_free.c: per-CPU list refills under the zone
lock, and drains), then a walk of /usr (dentry, inode and kmalloc objects).

    sudo .venv/bin/python bench/bpf_cost_allocator.py [--rounds 5]

Prints a Markdown table: median ns per event over the rounds, and the spread.
The allocator programs measured are the perf tracepoint entries: numascope
attaches their raw tracepoint twins instead once the page-allocation probe has
calibrated its page translation (bench/slowdown.py measures numascope as run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.allocator import attach_allocator
from numascope.probes.prog_stats import StatsSession, prog_stats
from numascope.probes.slab import attach_slab
from numascope.topology import read_topology

MEASURED = {
    "on_zone_locked": "kmem:mm_page_alloc_zone_locked",
    "on_pcpu_drain": "kmem:mm_page_pcpu_drain",
    "on_kmalloc": "kmem:kmalloc",
    "on_cache_alloc": "kmem:kmem_cache_alloc",
}
WORKLOAD_C = Path(__file__).parent.parent / "tests/kernel/cross_cpu_free.c"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bpf_cost_allocator: run as root", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="numascope-bench-"))
    program = tmp / "cross_cpu_free"
    subprocess.run(["cc", "-O2", "-pthread", "-o", str(program), str(WORKLOAD_C)], check=True)
    stats = StatsSession()
    topology = read_topology()
    allocator = attach_allocator(topology)
    slab = attach_slab(topology)
    bcc = bcc_loader.import_bcc()
    empty = bcc.BPF(text="\n".join(f"int empty_{fn}(void *ctx) {{ return 0; }}" for fn in MEASURED))
    for fn, tp in MEASURED.items():
        empty.attach_tracepoint(tp=tp.encode(), fn_name=f"empty_{fn}".encode())
    fds = {**allocator.family.program_fds(), **slab.family.program_fds()}
    fds.update({f"empty_{fn}": empty.funcs[f"empty_{fn}".encode()].fd for fn in MEASURED})
    per_round: dict[str, list[float]] = {name: [] for name in fds}
    events: dict[str, list[int]] = {name: [] for name in fds}
    for _ in range(args.rounds):
        before = {name: prog_stats(fd) for name, fd in fds.items()}
        subprocess.run([str(program), "cross", "16", "16"], check=True)
        subprocess.run(["find", "/usr", "-xdev"], capture_output=True, check=False)
        for name, fd in fds.items():
            a, b = before[name], prog_stats(fd)
            if a is None or b is None or b.run_count == a.run_count:
                continue
            runs = b.run_count - a.run_count
            per_round[name].append((b.run_time_ns - a.run_time_ns) / runs)
            events[name].append(runs)
    empty.cleanup()
    allocator.family.close()
    slab.family.close()
    stats.close()
    print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.rounds} rounds")
    print()
    print("| program | tracepoint | events/round | ns/event (median, min..max) ", end="")
    print("| empty | above empty |")
    print("|---|---|---:|---:|---:|---:|")
    for fn, tp in MEASURED.items():
        ours, base = per_round.get(fn, []), per_round.get(f"empty_{fn}", [])
        if not ours or not base:
            print(f"| {fn} | {tp} | 0 | no events | | |")
            continue
        med, empty_med = statistics.median(ours), statistics.median(base)
        print(
            f"| {fn} | {tp} | {statistics.median(events[fn]):.0f} | {med:.1f} "
            f"({min(ours):.1f}..{max(ours):.1f}) | {empty_med:.1f} | {med - empty_med:+.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
