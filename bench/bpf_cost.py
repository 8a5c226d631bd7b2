"""Per-event cost of numascope's BPF programs, measured by the kernel (bpf_stats).

In one run, on the same tracepoint and the same events: numascope's
page-allocation program, an empty program, and bpftrace's
`@[pid, numaid] = count()` (and the same keyed with comm). Statistics are on
only while this runs (bpf_enable_stats), not through the global sysctl.

    sudo .venv/bin/python bench/bpf_cost.py [--loads 3] [--rounds 7] [--mib 256]

Prints a Markdown table: median ns per event over the rounds, and the spread.
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


def build_fault(tmp: Path) -> Path:
    binary = tmp / "fault"
    subprocess.run(
        ["cc", "-O2", "-o", str(binary), str(Path(__file__).with_name("fault.c"))], check=True
    )
    return binary


def bpftool_progs() -> dict[int, dict[str, object]]:
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    return {p["id"]: p for p in json.loads(out.stdout or "[]")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per load")
    parser.add_argument(
        "--loads",
        type=int,
        default=3,
        help="times numascope's program is compiled and attached afresh (the others stay)",
    )
    parser.add_argument("--mib", type=int, default=256, help="MiB faulted per round")
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
    topology = read_topology()
    empty = bcc_loader.load_program(EMPTY)
    empty.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"on_page_alloc_empty")
    fd_ids = {"empty program": prog_stats(empty.funcs[b"on_page_alloc_empty"].fd).prog_id}  # type: ignore[union-attr]
    tracers = []
    bpftrace = shutil.which("bpftrace")
    for label, script in BPFTRACE.items() if bpftrace else ():
        # One at a time, so each new program id belongs to the tracer just started.
        known = set(bpftool_progs())
        proc = subprocess.Popen(
            [str(bpftrace), "-e", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        tracers.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            new = sorted(set(bpftool_progs()) - known)
            if new:
                fd_ids[label] = new[-1]
                break
            time.sleep(0.5)
    ours_label = "numascope page_alloc"
    per_round: dict[str, list[float]] = {name: [] for name in [ours_label, *fd_ids]}
    per_load: list[float] = []
    fault_ns: list[float] = []
    # A fresh compile and attach per load: the same program has measured several
    # times slower in some loads than in others here (see BENCHMARKS.md).
    for _ in range(args.loads):
        probe = attach_page_alloc(topology)
        ours_fd = probe.program_fds()["on_page_alloc"]
        fd_ids[ours_label] = prog_stats(ours_fd).prog_id  # type: ignore[union-attr]
        first = len(per_round[ours_label])
        for _ in range(args.rounds):
            start = bpftool_progs()
            result = subprocess.run(
                [str(fault), str(args.mib), "1"], capture_output=True, text=True
            )
            fault_ns.append(float(result.stdout))
            end = bpftool_progs()
            for name, prog_id in fd_ids.items():
                a, b = start.get(prog_id, {}), end.get(prog_id, {})
                runs = int(b.get("run_cnt", 0)) - int(a.get("run_cnt", 0))  # type: ignore[call-overload]
                ns = int(b.get("run_time_ns", 0)) - int(a.get("run_time_ns", 0))  # type: ignore[call-overload]
                if runs:
                    per_round[name].append(ns / runs)
        per_load.append(statistics.median(per_round[ours_label][first:]))
        ours = prog_stats(ours_fd)
        listed = bpftool_progs().get(fd_ids[ours_label], {})
        if ours is None or ours.run_count > int(listed.get("run_cnt", 0)):  # type: ignore[call-overload]
            print("bpf_cost: bpf_prog_info and bpftool disagree on run counts", file=sys.stderr)
            return 1
        probe.close()
    for proc in tracers:
        proc.terminate()
        proc.wait()
    empty.cleanup()
    stats.close()
    base = statistics.median(per_round["empty program"])
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.loads} loads x "
        f"{args.rounds} rounds of "
        f"{args.mib} MiB faulted; fault workload {statistics.median(fault_ns):.0f} ns/page"
    )
    print()
    print("| program on kmem:mm_page_alloc | ns/event (median) | min..max | above empty |")
    print("|---|---:|---:|---:|")
    for name, values in per_round.items():
        if not values:
            print(f"| {name} | no events | | |")
            continue
        med = statistics.median(values)
        print(f"| {name} | {med:.1f} | {min(values):.1f}..{max(values):.1f} | {med - base:+.1f} |")
    print()
    print(
        f"{ours_label}, median of each load: "
        + ", ".join(f"{m:.1f}" for m in per_load)
        + " ns/event"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
