"""Page-fault workload slowdown: numascope attached vs nothing, perf and bpftrace.

bench/fault.c maps 64 MiB, touches every 4 KiB page and unmaps it, 16 times per
run. Each pair runs it once with nothing attached and once with a tracer, in
alternating order, and the slowdown of a pair is (traced / bare - 1). Tracers, each in its own
block of pairs: numascope's probes alone (open_live_source with the default
families plus the allocator, nothing polling; the same without the migrate
family, with migrate_nodes instead, and migrate_nodes alone), the same with the opt-in slab
family, `numascope export` as a user runs it (the default probes, a poll every
second, its own cost measured through bpf_stats), `perf record -e
kmem:mm_page_alloc`, bpftrace `@[pid, numaid] = count()`, an empty BPF program on
the tracepoint and on the raw tracepoint (the floor any tool pays), and numascope
counting page allocations from the perf tracepoint's record, its fallback when
the raw tracepoint's page pointers cannot be translated to pfns.

    sudo .venv/bin/python bench/slowdown.py [--pairs 10] [--mib 64] [--rounds 16]
        [--only numascope,empty]

Prints a Markdown table: median slowdown over the pairs, the middle half of the
pairs (first to third quartile) and the whole spread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from numascope.collectors.live import open_live_source
from numascope.collectors.probe_families import DEFAULT_FAMILIES
from numascope.probes import bcc_loader
from numascope.probes.page_alloc import RAW_PAGE_ALLOC

Tracer = Callable[[], Iterator[str]]
NUMASCOPE = str(Path(sys.executable).with_name("numascope"))


def run_fault(binary: Path, mib: int, rounds: int) -> float:
    out = subprocess.run([str(binary), str(mib), str(rounds)], capture_output=True, text=True)
    return float(out.stdout)


def timed_fault(binary: Path, mib: int, rounds: int) -> float:
    """ns per page, after one untimed round. Attaching a tracer compiles it, and
    the compiler frees a hundred MB on its way out: a run right after faults in
    freshly freed, cache-warm pages, 15% faster here than one after a pause. The
    untimed round puts both sides of a pair on the same footing."""
    run_fault(binary, mib, 1)
    return run_fault(binary, mib, rounds)


@contextmanager
def numascope(families: tuple[str, ...], absent: frozenset[str] = frozenset()) -> Iterator[str]:
    source = open_live_source(probes=families, measure_overhead=False, absent=absent)
    try:
        yield "attached: " + ",".join(families)
    finally:
        source.close()


@contextmanager
def empty_program(raw: bool) -> Iterator[str]:
    """A program that does nothing, on the perf tracepoint or the raw one: the floor
    any tool pays on this event before it counts anything."""
    if raw:
        bpf = bcc_loader.load_program("RAW_TRACEPOINT_PROBE(mm_page_alloc) { return 0; }")
    else:
        bpf = bcc_loader.load_program("int on_alloc(void *ctx) { return 0; }")
        bpf.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"on_alloc")
    try:
        yield "attached: empty program" + (" (raw)" if raw else "")
    finally:
        bpf.cleanup()


@contextmanager
def external(cmd: list[str], ready_after: float) -> Iterator[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(ready_after)
    if proc.poll() is not None:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{cmd[0]} exited: {err.strip()[:200]}")
    try:
        yield "attached: " + " ".join(cmd)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--mib", type=int, default=64)
    # 1 GiB per run: what compiling a tracer leaves behind (freed, cache-warm pages)
    # is then a small part of the pages a run faults.
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated parts of the tracers' labels to run (say numascope,empty): "
        "more pairs for fewer rows",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("slowdown: run as root", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="numascope-bench-"))
    binary = tmp / "fault"
    fault_c = Path(__file__).with_name("fault.c")
    subprocess.run(["cc", "-O2", "-o", str(binary), str(fault_c)], check=True)
    every = tuple(DEFAULT_FAMILIES)
    if "allocator" not in every:
        every = (*every, "allocator")
    before_migrate = tuple(f for f in every if f != "migrate")
    with_nodes = (*before_migrate, "migrate_nodes")
    tracers: dict[str, Callable[[], object]] = {
        f"numascope ({','.join(every)})": lambda: numascope(tuple(every)),
        f"numascope ({','.join(before_migrate)})": lambda: numascope(before_migrate),
        f"numascope ({','.join(with_nodes)})": lambda: numascope(with_nodes),
        "numascope (migrate_nodes)": lambda: numascope(("migrate_nodes",)),
        f"numascope ({','.join(every)},slab)": lambda: numascope((*every, "slab")),
        "numascope export (polling at 1 s, self-measurement on)": lambda: external(
            [NUMASCOPE, "export", "--web.listen-address", "127.0.0.1:19480"], 8.0
        ),
        f"numascope ({','.join(every)}), page allocations from the perf tracepoint's "
        "record (the fallback)": lambda: numascope(tuple(every), frozenset({RAW_PAGE_ALLOC})),
        "empty BPF program on tracepoint kmem:mm_page_alloc": lambda: empty_program(raw=False),
        "empty BPF program on raw tracepoint mm_page_alloc": lambda: empty_program(raw=True),
        "perf record -e kmem:mm_page_alloc": lambda: external(
            ["perf", "record", "-q", "-a", "-e", "kmem:mm_page_alloc", "-o", str(tmp / "p.data")],
            3.0,
        ),
        "bpftrace @[pid, numaid] = count()": lambda: external(
            ["bpftrace", "-e", "tracepoint:kmem:mm_page_alloc { @[pid, numaid] = count(); }"],
            8.0,
        ),
    }
    wanted = [part.strip() for part in args.only.split(",") if part.strip()]
    if wanted:
        tracers = {k: v for k, v in tracers.items() if any(w in k for w in wanted)}
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"{args.pairs} interleaved pairs of {args.rounds} x {args.mib} MiB faulted"
    )
    print()
    print(
        "| attached | bare ns/page | traced ns/page | slowdown (median of pairs) "
        "| middle half | min..max |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, make in tracers.items():
        bare: list[float] = []
        traced: list[float] = []
        try:
            for pair in range(args.pairs):
                # Attach and detach for every pair, and alternate which run goes
                # first, so drift in the machine's load hits both sides alike.
                if pair % 2:
                    bare.append(timed_fault(binary, args.mib, args.rounds))
                with make():  # type: ignore[attr-defined]
                    traced.append(timed_fault(binary, args.mib, args.rounds))
                if not pair % 2:
                    bare.append(timed_fault(binary, args.mib, args.rounds))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"| {label} | | | not measured: {exc} | | |")
            continue
        ratios = [(t / b - 1) * 100 for t, b in zip(traced, bare, strict=True)]
        quartile_1, _, quartile_3 = statistics.quantiles(ratios, n=4)
        print(
            f"| {label} | {statistics.median(bare):.0f} | {statistics.median(traced):.0f} | "
            f"{statistics.median(ratios):+.1f}% | {quartile_1:+.1f}%..{quartile_3:+.1f}% | "
            f"{min(ratios):+.1f}%..{max(ratios):+.1f}% |"
        )
        sys.stdout.flush()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
