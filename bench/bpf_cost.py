"""Per-event cost of numascope's BPF programs, measured by the kernel (bpf_stats).

In one run, under the same workload: numascope's page-allocation program (on the
raw tracepoint mm_page_alloc, where numascope attaches it), an empty program on
the raw tracepoint and one on the perf tracepoint kmem:mm_page_alloc, and
bpftrace's `@[pid, numaid] = count()` (and the same keyed with comm) on the perf
tracepoint. Each program is compared with the empty program on its own
tracepoint. Each program is
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

Prints two Markdown tables: each program's median ns per event in each load (the
median and the lowest of those, each next to the empty program's), and what the
fault workload took per page with each attached.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

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
EMPTY_RAW_LABEL = "empty program, raw tracepoint"
NONE_LABEL = "no program"

# Attaches one program; returns its kernel program id (None: nothing attached)
# and how to detach it.
Starter = Callable[[], tuple[int | None, Callable[[], None]]]


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
    stats = prog_stats(probe.family.program_fds()[probe.entry])
    assert stats is not None
    return stats.prog_id, probe.family.close


def start_nothing() -> tuple[int | None, Callable[[], None]]:
    return None, lambda: None


def attach_empty(raw: bool) -> tuple[int, Callable[[], None]]:
    """An empty program on the raw tracepoint mm_page_alloc or on kmem:mm_page_alloc."""
    empty = bcc_loader.load_program(EMPTY)
    if raw:
        empty.attach_raw_tracepoint(tp=b"mm_page_alloc", fn_name=b"on_page_alloc_empty")
    else:
        empty.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"on_page_alloc_empty")
    stats = prog_stats(empty.funcs[b"on_page_alloc_empty"].fd)  # type: ignore[union-attr]
    assert stats is not None
    return stats.prog_id, empty.cleanup


def start_empty() -> tuple[int, Callable[[], None]]:
    return attach_empty(raw=False)


def start_empty_raw() -> tuple[int, Callable[[], None]]:
    return attach_empty(raw=True)


def empty_for(name: str) -> str:
    """The empty program on the same tracepoint as `name`'s."""
    return EMPTY_RAW_LABEL if name in (OURS, EMPTY_RAW_LABEL) else EMPTY_LABEL


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


class Measured(NamedTuple):
    ns_per_event: dict[int, list[float]]  # per program, per round (kernel bpf_stats)
    ns_per_page: list[float]  # the workload's own time per page touched, per round
    events_per_page: dict[int, list[float]]  # per program, per round


def measure(prog_ids: list[int], fault: Path, rounds: int, mib: int) -> Measured:
    """Time the fault workload, and each program's runs in it, over `rounds` rounds."""
    subprocess.run([str(fault), str(mib), "1"], capture_output=True)  # untimed: warm caches
    measured = Measured({p: [] for p in prog_ids}, [], {p: [] for p in prog_ids})
    pages = mib * 256
    for _ in range(rounds):
        before = bpftool_progs()
        result = subprocess.run([str(fault), str(mib), "1"], capture_output=True, text=True)
        after = bpftool_progs()
        measured.ns_per_page.append(float(result.stdout))
        for prog_id in prog_ids:
            a, b = before.get(prog_id, {}), after.get(prog_id, {})
            runs = int(b.get("run_cnt", 0)) - int(a.get("run_cnt", 0))  # type: ignore[call-overload]
            ns = int(b.get("run_time_ns", 0)) - int(a.get("run_time_ns", 0))  # type: ignore[call-overload]
            if runs:
                measured.ns_per_event[prog_id].append(ns / runs)
                measured.events_per_page[prog_id].append(runs / pages)
    return measured


@dataclass
class LoadFigures:
    """One load: each program's median over its rounds."""

    ns_per_event: dict[str, float] = field(default_factory=dict)
    ns_per_page: dict[str, float] = field(default_factory=dict)
    events_per_page: dict[str, float] = field(default_factory=dict)


def run_loads(starters: dict[str, Starter], loads: int, rounds: int, mib: int) -> list[LoadFigures]:
    """Attach each program alone, in turn, `loads` times, the order rotated each time."""
    tmp = Path(tempfile.mkdtemp(prefix="numascope-bench-"))
    fault = build_fault(tmp)
    names = list(starters)
    figures: list[LoadFigures] = []
    for load in range(loads):
        this = LoadFigures()
        for name in names[load % len(names) :] + names[: load % len(names)]:
            prog_id, stop = starters[name]()
            ids = [prog_id] if prog_id is not None else []
            try:
                got = measure(ids, fault, rounds, mib)
            finally:
                stop()
            this.ns_per_page[name] = statistics.median(got.ns_per_page)
            if prog_id is not None and got.ns_per_event[prog_id]:
                this.ns_per_event[name] = statistics.median(got.ns_per_event[prog_id])
                this.events_per_page[name] = statistics.median(got.events_per_page[prog_id])
        figures.append(this)
    shutil.rmtree(tmp, ignore_errors=True)
    return figures


def print_bpf_stats_table(title: str, loads: list[LoadFigures], names: list[str]) -> None:
    """Each program's ns per event as the kernel timed it, against the empty
    program's on the same tracepoint."""
    per_load = [load.ns_per_event for load in loads]
    n = len(loads)
    heads = " | ".join(f"load {i + 1}" for i in range(n))
    print(f"| {title} | {heads} | median | above empty | lowest | above empty |")
    print("|---|" + "---:|" * (n + 4))
    seen = {
        name: values
        for name in names
        if (values := [load[name] for load in per_load if name in load])
    }
    for name in names:
        if name == NONE_LABEL:
            continue
        empty = seen.get(empty_for(name))
        cells = " | ".join(
            f"{load[name]:.1f}" if name in load else "no events" for load in per_load
        )
        if name not in seen:
            print(f"| {name} | {cells} | | | | |")
            continue
        med, low = statistics.median(seen[name]), min(seen[name])
        above_med = f"{med - statistics.median(empty):+.1f}" if empty else ""
        above_low = f"{low - min(empty):+.1f}" if empty else ""
        print(f"| {name} | {cells} | {med:.1f} | {above_med} | {low:.1f} | {above_low} |")
    print()
    print(
        "ns per event; each load's figure is the median of its rounds "
        "(kernel bpf_stats run_time_ns / run_cnt)"
    )
    print()


def paired(loads: list[LoadFigures], name: str, reference: str) -> str:
    """Median over loads of (name - reference) in the same load: the drift cancels."""
    diffs = [
        load.ns_per_page[name] - load.ns_per_page[reference]
        for load in loads
        if name in load.ns_per_page and reference in load.ns_per_page
    ]
    return f"{statistics.median(diffs):+.1f}" if diffs else ""


def print_workload_table(title: str, loads: list[LoadFigures], names: list[str]) -> None:
    """What the fault workload paid per page with each program attached."""
    n = len(loads)
    heads = " | ".join(f"load {i + 1}" for i in range(n))
    print(f"| {title} | {heads} | median | above no program | above empty |")
    print("|---|" + "---:|" * (n + 3))
    for name in names:
        cells = " | ".join(f"{load.ns_per_page[name]:.0f}" for load in loads)
        med = statistics.median(load.ns_per_page[name] for load in loads)
        print(
            f"| {name} | {cells} | {med:.0f} | {paired(loads, name, NONE_LABEL)} "
            f"| {paired(loads, name, empty_for(name))} |"
        )
    print()
    events = [v for load in loads for v in load.events_per_page.values()]
    print(
        "ns per page touched by bench/fault.c, each load's figure the median of its rounds; "
        '"above" columns are medians of the differences within each load; '
        f"page-allocation events per page touched: {statistics.median(events):.3f}"
    )
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
    stats = StatsSession()
    if not stats.active:
        print("bpf_cost: bpf_enable_stats failed", file=sys.stderr)
        return 2
    starters: dict[str, Starter] = {
        OURS: start_ours,
        EMPTY_RAW_LABEL: start_empty_raw,
        EMPTY_LABEL: start_empty,
        NONE_LABEL: start_nothing,
    }
    bpftrace = shutil.which("bpftrace")
    for label, script in BPFTRACE.items() if bpftrace else ():
        starters[label] = bpftrace_starter(str(bpftrace), script)
    names = list(starters)
    loads = run_loads(starters, args.loads, args.rounds, args.mib)
    stats.close()
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.loads} loads x "
        f"{args.rounds} rounds of {args.mib} MiB faulted per program"
    )
    print()
    print_bpf_stats_table("program on mm_page_alloc, alone", loads, names)
    print_workload_table("fault workload, ns per page, with", loads, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
