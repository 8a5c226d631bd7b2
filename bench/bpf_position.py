"""Per-event cost of identical empty programs attached together, by position.

The kernel runs the programs of a tracepoint one after another and times each
(bpf_stats). Attaching N identical empty programs to kmem:mm_page_alloc shows
what a program's place in that list adds to its measured cost: why
bench/bpf_cost.py attaches each program alone rather than side by side. Each
program's JIT address (from /proc/kallsyms) is printed too, for the page it
sits in.

    sudo .venv/bin/python bench/bpf_position.py [--programs 8] [--rounds 3] [--mib 128]

Prints a Markdown table: ns per event of each program, in attach order, per round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bpf_cost import build_fault, measure

from numascope.probes import bcc_loader
from numascope.probes.prog_stats import StatsSession, prog_stats


def jit_addresses() -> dict[str, int]:
    found = {}
    for line in Path("/proc/kallsyms").read_text().splitlines():
        address, _, name = line.split()[:3]
        if name.startswith("bpf_prog_") and "_position_" in name:
            found["position_" + name.rsplit("_position_", 1)[1]] = int(address, 16)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=128, help="MiB faulted per round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bpf_position: run as root", file=sys.stderr)
        return 2
    stats = StatsSession()
    if not stats.active:
        print("bpf_position: bpf_enable_stats failed", file=sys.stderr)
        return 2
    fault = build_fault(Path(tempfile.mkdtemp(prefix="numascope-bench-")))
    loaded = []
    for i in range(args.programs):
        name = f"position_{i}"
        program = bcc_loader.load_program(f"int {name}(void *ctx) {{ return 0; }}")
        program.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=name.encode())
        info = prog_stats(program.funcs[name.encode()].fd)  # type: ignore[union-attr]
        assert info is not None
        loaded.append((name, info.prog_id, program))
    addresses = jit_addresses()
    per_prog = measure(
        [prog_id for _, prog_id, _ in loaded], fault, args.rounds, args.mib
    ).ns_per_event
    rows = {name: per_prog[prog_id] for name, prog_id, _ in loaded}
    for _, _, program in loaded:
        program.cleanup()
    stats.close()
    print(
        f"kernel {os.uname().release}, {args.programs} identical empty programs on "
        f"kmem:mm_page_alloc in attach order, {args.rounds} rounds of {args.mib} MiB faulted"
    )
    print()
    heads = " | ".join(f"round {r + 1}" for r in range(args.rounds))
    print(f"| position | JIT address | {heads} | median |")
    print("|---:|---|" + "---:|" * (args.rounds + 1))
    for i, (name, _, _) in enumerate(loaded):
        cells = " | ".join(f"{v:.1f}" for v in rows[name])
        address = addresses.get(name)
        shown = f"`{address:#x}`" if address else "?"
        print(f"| {i + 1} | {shown} | {cells} | {statistics.median(rows[name]):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
