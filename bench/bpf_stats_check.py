"""Does bpf_stats tell what a program costs on this machine? Pairs of near-identical programs.

Each pair does the same work on kmem:mm_page_alloc but for one detail: whether a
value read from the event (the record's pfn, the CPU id) is stored into the map
or only compared. If bpf_stats (`run_time_ns / run_cnt`) measured the programs'
own work, the two of a pair would be a few ns apart, and so would what the fault
workload pays per page with each attached. Every program is attached in turn,
loaded afresh for each of --loads, as in bench/bpf_cost.py, next to an empty
program, to nothing attached, and to numascope's page-allocation program.

With --lead, an empty lead program is attached before each one (and alone in place
of "no program"): the lead takes the charge the kernel's timing puts on whichever
program runs first (bench/bpf_position.py), so what remains is each program's own.

    sudo .venv/bin/python bench/bpf_stats_check.py [--lead] [--loads 6] [--rounds 3] [--mib 128]

Prints two Markdown tables: ns per event as bpf_stats reports it, and ns per page
the workload took with each program attached.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from bpf_cost import (
    EMPTY_LABEL,
    EMPTY_RAW_LABEL,
    NONE_LABEL,
    OURS,
    Starter,
    print_bpf_stats_table,
    print_workload_table,
    run_loads,
    start_empty,
    start_empty_raw,
    start_nothing,
    start_ours,
)

from numascope.probes import bcc_loader
from numascope.probes.prog_stats import StatsSession, prog_stats

# The record's first fields (kmem:mm_page_alloc: common header, then pfn).
HEAD = """
BPF_ARRAY(counter, u64, 1);
struct record { u64 common; u64 pfn; };
int probe(struct record *args)
{
    u32 zero = 0;
    u64 *v = counter.lookup(&zero);
    if (!v)
        return 0;
"""

PAIRS = {
    "pfn compared, counter += 1 never runs": "if (args->pfn == 5) *v += 1; return 0; }",
    "pfn added to the counter": "*v += args->pfn; return 0; }",
    "CPU id picks the counter, += 1": None,
    "CPU id added to the counter": "*v += bpf_get_smp_processor_id(); return 0; }",
}

# The same work as "CPU id added", but the CPU id is an index: no value from the
# event reaches a store.
CPU_INDEX = """
struct slot { u64 n; u64 pad[7]; };
BPF_ARRAY(counter, struct slot, 64);
int probe(void *args)
{
    u32 cpu = bpf_get_smp_processor_id();
    struct slot *v = counter.lookup(&cpu);
    if (v)
        v->n += 1;
    return 0;
}
"""


def starter(source: str) -> Starter:
    def start() -> tuple[int | None, Callable[[], None]]:
        program = bcc_loader.load_program(source)
        program.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"probe")
        info = prog_stats(program.funcs[b"probe"].fd)  # type: ignore[union-attr]
        assert info is not None
        return info.prog_id, program.cleanup

    return start


def behind_lead(start: Starter) -> Starter:
    """`start`, with an empty program attached to the tracepoint first."""

    def start_behind() -> tuple[int | None, Callable[[], None]]:
        lead = bcc_loader.load_program("int lead(void *args) { return 0; }")
        lead.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"lead")
        try:
            prog_id, stop = start()
        except BaseException:
            lead.cleanup()
            raise

        def stop_both() -> None:
            stop()
            lead.cleanup()

        return prog_id, stop_both

    return start_behind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lead", action="store_true", help="an empty program runs first")
    parser.add_argument("--loads", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=128, help="MiB faulted per round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bpf_stats_check: run as root", file=sys.stderr)
        return 2
    stats = StatsSession()
    if not stats.active:
        print("bpf_stats_check: bpf_enable_stats failed", file=sys.stderr)
        return 2
    starters: dict[str, Starter] = {EMPTY_LABEL: start_empty, NONE_LABEL: start_nothing}
    for label, tail in PAIRS.items():
        starters[label] = starter(HEAD + tail if tail else CPU_INDEX)
    starters[OURS] = start_ours  # on the raw tracepoint, next to an empty one there
    starters[EMPTY_RAW_LABEL] = start_empty_raw
    if args.lead:
        starters = {name: behind_lead(start) for name, start in starters.items()}
    names = list(starters)
    loads = run_loads(starters, args.loads, args.rounds, args.mib)
    stats.close()
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.loads} loads x "
        f"{args.rounds} rounds of {args.mib} MiB faulted per program, "
        + ("each behind an empty lead program" if args.lead else "each alone")
    )
    print()
    print_bpf_stats_table("program on kmem:mm_page_alloc", loads, names)
    print_workload_table("fault workload, ns per page, with", loads, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
