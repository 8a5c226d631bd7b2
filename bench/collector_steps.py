"""Where a poll's CPU goes: each step of LiveSource.poll timed on its own.

The set-up is bench/collector.py's (N live `sleep` processes, their owners
written into the owners buffer before each poll, all of them moving, the
default policy judging each snapshot); here each step of the poll is wrapped
and its CPU time (time.process_time) summed per poll. Steps nest: a step's time
includes the steps it calls (the drain includes finding rows and adding).

    sudo .venv/bin/python bench/collector_steps.py [--keys 10000] [--polls 14] [--interval 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector import fill, own_cgroup_id, sleepers

from numascope.collectors.allocator import AllocatorCollector
from numascope.collectors.attribution import Attributor
from numascope.collectors.exited_owners import ExitedOwners
from numascope.collectors.irqs import IrqCollector
from numascope.collectors.live import LiveSource, open_live_source
from numascope.collectors.liveness import RowLiveness
from numascope.collectors.owner_drain import OwnerDrain
from numascope.collectors.page_alloc import PageAllocCollector
from numascope.collectors.probe_families import PageAllocFamily
from numascope.collectors.program_watch import ProgramWatch
from numascope.collectors.reclaim import ReclaimCollector
from numascope.commands.source_options import freeze_start_up
from numascope.config import PolicyHolder
from numascope.policy import PolicyEngine

# (class, method, what the table calls it), in the order a poll runs them.
STEPS: list[tuple[type, str, str]] = [
    (LiveSource, "poll", "poll, all of it"),
    (LiveSource, "_collect_families", "every family's maps"),
    (PageAllocCollector, "read", "  page allocations: read"),
    (OwnerDrain, "read_and_delete", "  the kernel's drain (both sweeps)"),
    (PageAllocCollector, "_rows_for", "  finding each key's row"),
    (PageAllocCollector, "_absorb", "  adding the counts (with finding rows)"),
    (PageAllocCollector, "_report", "  the cached slots and the report"),
    (ReclaimCollector, "read", "  reclaim"),
    (IrqCollector, "read", "  interrupts"),
    (AllocatorCollector, "read", "  allocator"),
    (ProgramWatch, "check", "programs' statistics"),
    (RowLiveness, "alive", "liveness"),
    (ExitedOwners, "retire", "retiring"),
    (Attributor, "attribute_table", "attribution"),
    (Attributor, "_counts", "  counts by node, local/remote"),
    (Attributor, "_process_workloads", "  processes"),
    (Attributor, "_refresh_leader_names", "    names re-read from /proc"),
    (LiveSource, "_health", "health"),
    (PolicyEngine, "judge", "the policy's judgement (not part of the poll)"),
]


def timed(spent: dict[str, float], label: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--polls", type=int, default=14)
    parser.add_argument("--warmup", type=int, default=12)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("collector_steps: run as root", file=sys.stderr)
        return 2
    spent: dict[str, float] = defaultdict(float)
    for cls, name, label in STEPS:
        setattr(cls, name, timed(spent, label, getattr(cls, name)))
    per_poll: dict[str, list[float]] = defaultdict(list)
    with sleepers(args.keys) as pids:
        source = open_live_source(max_owners=16384)
        freeze_start_up()  # as the commands do once their source is open
        try:
            family = source.family("page_alloc")
            assert isinstance(family, PageAllocFamily), source.failed
            engine = PolicyEngine(PolicyHolder.open(None))
            cgroup_id = own_cgroup_id()
            for round_no in range(args.warmup + args.polls):
                owners = family.probe.tables[f"owners{family.collector._epoch}"]
                fill(owners, pids, round_no, cgroup_id)
                time.sleep(args.interval)
                spent.clear()
                engine.judge(source.poll())
                if round_no >= args.warmup:
                    for _, _, label in STEPS:
                        per_poll[label].append(spent.get(label, 0.0) * 1000)
        finally:
            source.close()
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs; {args.keys:,} owners all moving, "
        f"{args.polls} polls at {args.interval:g} s after {args.warmup} not counted"
    )
    print()
    print("| step | CPU per poll, ms (median) | min..max |")
    print("|---|---:|---:|")
    for _, _, label in STEPS:
        values = per_poll[label]
        name = label.replace("  ", "&nbsp;&nbsp;")
        median, low, high = statistics.median(values), min(values), max(values)
        print(f"| {name} | {median:.2f} | {low:.2f}..{high:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
