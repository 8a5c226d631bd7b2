"""Per-event cost of numascope's BPF programs, measured by the kernel (bpf_stats).

In one run, on the same tracepoint under the same workload: numascope's
page-allocation program, an empty program, and bpftrace's
`@[pid, numaid] = count()` (and the same keyed with comm). Each program is
attached alone, as a user would run it, loaded afresh for each of --loads, and
the programs take turns within a load (the order rotates between loads).
Statistics are on only while this runs (bpf_enable_stats), not through the
global sysctl.

Alone, because the kernel times each program of a tracepoint separately, and
which one runs first matters: of identical empty programs attached together,
the first measured about 120 ns more than the others (bench/bpf_position.py), so
a side-by-side run compares positions, not programs. Loaded afresh, because on
this VM the same program measures either about 40 ns or 120-200 ns per event,
and which one mostly holds for as long as it stays loaded: each load's median is
printed, and the lowest (the program's own work) next to the median.

    sudo .venv/bin/python bench/bpf_cost.py [--loads 9] [--rounds 5] [--mib 128]

Prints a Markdown table: each program's median ns per event in each load, the
median and the lowest of those, each next to the empty program's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.page_alloc import attach_page_alloc
from numascope.probes.prog_stats import StatsSession, prog_stats
from numascope.topology import read_topology

EMPTY = """
int on_page_alloc_empty(void *ctx) { return 0; }
"""

BPFTRACE = {
    "bpftrace @[pid, numaid] = count()": (
        "tracepoint:kmem:mm_page_alloc { @[pid, numaid] = count(); }"
    ),
    "bpftrace @[pid, comm, numaid] = count()": (
        "tracepoint:kmem:mm_page_alloc { @[pid, comm, numaid] = count(); }"
    ),
}

OURS = "numascope page_alloc"
EMPTY_LABEL = "empty program"

# Attaches one program; returns its kernel program id and how to detach it.
Starter = Callable[[], tuple[int, Callable[[], None]]]


def build_fault(tmp: Path) -> Path:
    binary = tmp / "fault"
    subprocess.run(
        ["cc", "-O2", "-o", str(binary), str(Path(__file__).with_name("fault.c"))], check=True
    )
    return binary


def bpftool_progs() -> dict[int, dict[str, object]]:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    return {p["id"]: p for p in json.loads(out.stdout or "[]")}


def start_ours() -> tuple[int, Callable[[], None]]:
    probe = attach_page_alloc(read_topology())
    stats = prog_stats(probe.program_fds()["on_page_alloc"])
    assert stats is not None
    return stats.prog_id, probe.close


def start_empty() -> tuple[int, Callable[[], None]]:
    empty = bcc_loader.load_program(EMPTY)
    empty.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"on_page_alloc_empty")
    stats = prog_stats(empty.funcs[b"on_page_alloc_empty"].fd)  # type: ignore[union-attr]
    assert stats is not None
    return stats.prog_id, empty.cleanup


def bpftrace_starter(bpftrace: str, script: str) -> Starter:
    def start() -> tuple[int, Callable[[], None]]:
        known = set(bpftool_progs())
        proc = subprocess.Popen(
            [bpftrace, "-e", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def stop() -> None:
            proc.terminate()
            proc.wait()

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            new = sorted(set(bpftool_progs()) - known)
            if new:
                return new[-1], stop
            time.sleep(0.2)
        stop()
        raise RuntimeError(f"bpftrace did not load a program in 30 s: {script}")

    return start


def measure(
    prog_ids: list[int], fault: Path, rounds: int, mib: int
) -> tuple[dict[int, list[float]], list[float]]:
    """ns per event of each program in each round, and the workload's ns per page."""
    subprocess.run([str(fault), str(mib), "1"], capture_output=True)  # untimed: warm caches
    per_event: dict[int, list[float]] = {prog_id: [] for prog_id in prog_ids}
    per_page = []
    for _ in range(rounds):
        before = bpftool_progs()
        result = subprocess.run([str(fault), str(mib), "1"], capture_output=True, text=True)
        after = bpftool_progs()
        per_page.append(float(result.stdout))
        for prog_id in prog_ids:
            a, b = before.get(prog_id, {}), after.get(prog_id, {})
            runs = int(b.get("run_cnt", 0)) - int(a.get("run_cnt", 0))  # type: ignore[call-overload]
            ns = int(b.get("run_time_ns", 0)) - int(a.get("run_time_ns", 0))  # type: ignore[call-overload]
            if runs:
                per_event[prog_id].append(ns / runs)
    return per_event, per_page


def print_table(title: str, loads: list[dict[str, float]], names: list[str]) -> None:
    n = len(loads)
    heads = " | ".join(f"load {i + 1}" for i in range(n))
    print(f"| {title} | {heads} | median | above empty | lowest | above empty |")
    print("|---|" + "---:|" * (n + 4))
    seen = {
        name: values for name in names if (values := [load[name] for load in loads if name in load])
    }
    empty = seen.get(EMPTY_LABEL)
    for name in names:
        cells = " | ".join(f"{load[name]:.1f}" if name in load else "no events" for load in loads)
        if name not in seen:
            print(f"| {name} | {cells} | | | | |")
            continue
        med, low = statistics.median(seen[name]), min(seen[name])
        above_med = f"{med - statistics.median(empty):+.1f}" if empty else ""
        above_low = f"{low - min(empty):+.1f}" if empty else ""
        print(f"| {name} | {cells} | {med:.1f} | {above_med} | {low:.1f} | {above_low} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per program per load")
    parser.add_argument(
        "--loads", type=int, default=9, help="times each program is loaded and attached afresh"
    )
    parser.add_argument("--mib", type=int, default=128, help="MiB faulted per round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bpf_cost: run as root", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="numascope-bench-"))
    fault = build_fault(tmp)
    stats = StatsSession()
    if not stats.active:
        print("bpf_cost: bpf_enable_stats failed", file=sys.stderr)
        return 2
    starters: dict[str, Starter] = {OURS: start_ours, EMPTY_LABEL: start_empty}
    bpftrace = shutil.which("bpftrace")
    for label, script in BPFTRACE.items() if bpftrace else ():
        starters[label] = bpftrace_starter(str(bpftrace), script)
    names = list(starters)
    loads: list[dict[str, float]] = []
    fault_ns: list[float] = []
    for load in range(args.loads):
        figures: dict[str, float] = {}
        for name in names[load % len(names) :] + names[: load % len(names)]:
            prog_id, stop = starters[name]()
            try:
                per_prog, per_page = measure([prog_id], fault, args.rounds, args.mib)
            finally:
                stop()
            fault_ns += per_page
            if per_prog[prog_id]:
                figures[name] = statistics.median(per_prog[prog_id])
        loads.append(figures)
    stats.close()
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.loads} loads x "
        f"{args.rounds} rounds of {args.mib} MiB faulted per program; "
        f"fault workload {statistics.median(fault_ns):.0f} ns/page"
    )
    print()
    print_table("program on kmem:mm_page_alloc, alone", loads, names)
    print(
        "ns per event; each load's figure is the median of its rounds "
        "(kernel bpf_stats run_time_ns / run_cnt)"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
