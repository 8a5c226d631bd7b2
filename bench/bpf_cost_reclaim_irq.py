"""Per-event cost of the reclaim and interrupt programs, measured by the kernel (bpf_stats).

Every numascope program of the two families runs next to an empty program on
the same tracepoint, so both see the same events; compare by the difference.
Statistics are on only while this runs (bpf_enable_stats).
Workload per round: 4 KiB O_DIRECT reads of a file on disk (one disk interrupt
and one BLOCK softirq each), then the same 128 MiB file read through the page
cache inside a cgroup v1 memory limit of 32 MiB (memcg reclaim: stalls and
shrink events). kswapd and global direct reclaim do not run on this host.

    sudo .venv/bin/python bench/bpf_cost_reclaim_irq.py [--rounds 5]

Prints a Markdown table: median ns per event over the rounds, and the spread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.irq import attach_irq
from numascope.probes.prog_stats import StatsSession, prog_stats
from numascope.probes.reclaim import attach_reclaim
from numascope.topology import read_topology

# function -> tracepoint, for the programs that see events in this workload.
MEASURED = {
    "on_irq_entry": "irq:irq_handler_entry",
    "on_irq_exit": "irq:irq_handler_exit",
    "on_softirq_entry": "irq:softirq_entry",
    "on_softirq_exit": "irq:softirq_exit",
    "on_memcg_begin": "vmscan:mm_vmscan_memcg_reclaim_begin",
    "on_memcg_end": "vmscan:mm_vmscan_memcg_reclaim_end",
    "on_shrink_inactive": "vmscan:mm_vmscan_lru_shrink_inactive",
}
MEMCG = Path("/sys/fs/cgroup/memory")


def empty_source() -> str:
    return "\n".join(f"int empty_{fn}(void *ctx) {{ return 0; }}" for fn in MEASURED)


def workload(data: Path, group: Path) -> None:
    subprocess.run(
        ["dd", f"if={data}", "of=/dev/null", "bs=4k", "count=8192", "iflag=direct", "status=none"],
        check=True,
    )
    subprocess.run(
        [
            "sh",
            "-c",
            f"echo $$ > {group}/tasks && exec dd if={data} of=/dev/null bs=1M status=none",
        ],
        check=True,
    )
    # Drop the file's cached pages so the next round reclaims again.
    subprocess.run(
        ["dd", f"of={data}", "oflag=nocache", "conv=notrunc,fdatasync", "count=0"],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bpf_cost_reclaim_irq: run as root", file=sys.stderr)
        return 2
    data = Path("/var/tmp") / f"numascope-bench-{uuid.uuid4().hex[:8]}.dat"
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={data}", "bs=1M", "count=128", "oflag=direct", "status=none"],
        check=True,
    )
    group = MEMCG / f"numascope-bench-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(32 << 20))
    stats = StatsSession()
    topology = read_topology()
    reclaim = attach_reclaim(topology.node_ids)
    irq = attach_irq(255)
    bcc = bcc_loader.import_bcc()
    empty = bcc.BPF(text=empty_source())
    for fn, tp in MEASURED.items():
        empty.attach_tracepoint(tp=tp.encode(), fn_name=f"empty_{fn}".encode())
    fds = {**reclaim.family.program_fds(), **irq.family.program_fds()}
    pairs = {fn: (fds[fn], empty.funcs[f"empty_{fn}".encode()].fd) for fn in MEASURED}
    per_round: dict[str, list[tuple[float, float, int]]] = {fn: [] for fn in MEASURED}
    try:
        for _ in range(args.rounds):
            before = {fn: (prog_stats(a), prog_stats(b)) for fn, (a, b) in pairs.items()}
            workload(data, group)
            time.sleep(0.1)
            for fn, (a, b) in pairs.items():
                sa0, sb0 = before[fn]
                sa1, sb1 = prog_stats(a), prog_stats(b)
                assert sa0 and sb0 and sa1 and sb1
                runs = sa1.run_count - sa0.run_count
                eruns = sb1.run_count - sb0.run_count
                if runs and eruns:
                    ours = (sa1.run_time_ns - sa0.run_time_ns) / runs
                    base = (sb1.run_time_ns - sb0.run_time_ns) / eruns
                    per_round[fn].append((ours, base, runs))
    finally:
        empty.cleanup()
        reclaim.family.close()
        irq.family.close()
        stats.close()
        data.unlink(missing_ok=True)
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                (group / "memory.force_empty").write_text("0")
                time.sleep(0.1)
    print(f"kernel {os.uname().release}, {os.cpu_count()} CPUs, {args.rounds} rounds")
    print()
    print("| program | tracepoint | events/round | ns/event (median) | empty | above empty |")
    print("|---|---|---:|---:|---:|---:|")
    for fn, rows in per_round.items():
        if not rows:
            print(f"| {fn} | {MEASURED[fn]} | 0 | no events | | |")
            continue
        ours = statistics.median(r[0] for r in rows)
        base = statistics.median(r[1] for r in rows)
        events = statistics.median(r[2] for r in rows)
        print(
            f"| {fn} | {MEASURED[fn]} | {events:.0f} | {ours:.1f} "
            f"({min(r[0] for r in rows):.1f}..{max(r[0] for r in rows):.1f}) | {base:.1f} "
            f"| {ours - base:+.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
