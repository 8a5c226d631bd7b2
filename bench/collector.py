"""Collector cost per poll at 1 s with N live owner keys in the real kernel maps.

N live processes are started (`sleep`, so every owner has a real pid that /proc
names); before each poll, an owner (tgid, cgroup, CPU node) for each of them is
written into the owners buffer the programs currently fill, with new counts every
interval, so every poll drains, absorbs and attributes N changed live owners: the
worst case for N keys. A size N/M writes all N once, then M of them (a different
M each poll): N owners remembered, M keys in the map per poll. Everything
numascope attaches by default runs meanwhile. CPU time is the process's own
(time.process_time) around `LiveSource.poll()`; the filling is not counted.

    sudo .venv/bin/python bench/collector.py [--keys 100,1000,10000,10000/1000] [--polls 15]

Prints a Markdown table: per-poll CPU and wall time (median, min..max) and
the share of one core at a 1 s interval (the mean CPU per poll over the
interval: CPU per second, whatever spikes some polls had); and the poll's CPU with the snapshot
then judged by the default policy, kernel policies read from /proc, as `export`
and `top` do every poll. The first `--warmup` polls of each size are not
counted: until the policy's window (10 s) is full, each poll keeps what it
allocates and the process grows, which a long-running command does once.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from numascope.collectors.live import LiveSource, open_live_source
from numascope.collectors.probe_families import PageAllocFamily
from numascope.commands.source_options import freeze_start_up
from numascope.config import PolicyHolder
from numascope.policy import PolicyEngine


def own_cgroup_id() -> int:
    try:
        rel = Path("/proc/self/cgroup").read_text().split("::", 1)[1].strip()
        return os.stat(f"/sys/fs/cgroup{rel}").st_ino
    except (OSError, IndexError):
        return 0


def fill(table: object, pids: list[int], round_no: int, cgroup_id: int) -> None:
    t = table  # a bcc table
    keys = len(pids)
    key_array = (t.Key * keys)()  # type: ignore[attr-defined]
    value_array = (t.Leaf * keys)()  # type: ignore[attr-defined]
    for i in range(keys):
        k = key_array[i]
        k.tgid, k.context, k.cgroup_id, k.cpu_node = pids[i], 0, cgroup_id, 0
        v = value_array[i]
        v.comm = b"sleep"
        v.events[0] = v.pages[0] = round_no + 1 + i % 7
    t.items_update_batch(key_array, value_array)  # type: ignore[attr-defined]


@contextmanager
def sleepers(count: int) -> Iterator[list[int]]:
    """`count` live processes that do nothing, killed on the way out."""
    pids: list[int] = []
    try:
        for _ in range(count):
            pids.append(os.posix_spawn("/bin/sleep", ["sleep", "3600"], {}))
        yield pids
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            os.waitpid(pid, 0)


def measure(
    source: LiveSource,
    pids: list[int],
    sizes: list[tuple[int, int]],
    polls: int,
    warmup: int,
    interval: float,
) -> None:
    family = source.family("page_alloc")
    assert isinstance(family, PageAllocFamily), source.failed
    tables, collector = family.probe.tables, family.collector
    cgroup_id = own_cgroup_id()
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"{polls} polls per size at {interval:g} s, after {warmup} not counted (warm-up)"
    )
    print()
    print(
        "| live owner keys | of them moving per poll | CPU per poll, ms (median, min..max) "
        "| wall per poll, ms | % of one core (mean CPU per poll) "
        "| with the policy judged: CPU per poll, ms (median; mean), % of one core |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for keys, moving in sizes:
        cpu: list[float] = []
        wall: list[float] = []
        judged: list[float] = []
        # As `export` and `top` run it: the default policy, drift read from /proc.
        engine = PolicyEngine(PolicyHolder.open(None))
        next_at = time.monotonic() + interval
        for round_no in range(warmup + polls):
            # Every owner once, then `moving` of them per poll, a different
            # `moving` each time (all of them when moving == keys).
            start = (round_no * moving) % keys
            batch = (pids[:keys] * 2)[start : start + moving] if round_no else pids[:keys]
            fill(tables[f"owners{collector._epoch}"], batch, round_no, cgroup_id)
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            c0, w0 = time.process_time(), time.perf_counter()
            snapshot = source.poll()
            c1, w1 = time.process_time(), time.perf_counter()
            engine.judge(snapshot)
            c2 = time.process_time()
            if round_no >= warmup:
                cpu.append((c1 - c0) * 1000)
                wall.append((w1 - w0) * 1000)
                judged.append((c2 - c0) * 1000)

        def share(ms: float) -> str:
            return f"{ms / (interval * 1000) * 100:.2f}%"

        med, mean = statistics.median(cpu), statistics.fmean(cpu)
        judged_med, judged_mean = statistics.median(judged), statistics.fmean(judged)
        print(
            f"| {keys:,} | {moving:,} | {med:.1f} ({min(cpu):.1f}..{max(cpu):.1f}) | "
            f"{statistics.median(wall):.1f} | {share(mean)} "
            f"| {judged_med:.1f}; {judged_mean:.1f}, {share(judged_mean)} |"
        )
        sys.stdout.flush()
        # Let these owners' rows go before the next size.
        collector.retire(list(collector._keys))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keys",
        default="100,1000,10000,10000/1000",
        help="sizes, comma-separated: N (all N owners move every poll) or N/M (M of N move)",
    )
    parser.add_argument("--polls", type=int, default=15)
    parser.add_argument(
        "--warmup", type=int, default=12, help="polls not counted first (a window, and then some)"
    )
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("collector: run as root", file=sys.stderr)
        return 2
    sizes = []
    for size in args.keys.split(","):
        keys, _, moving = size.partition("/")
        if not keys.isdigit() or not (moving or keys).isdigit() or int(moving or keys) > int(keys):
            parser.error(f"--keys: {size!r} is not N or N/M with M <= N")
        sizes.append((int(keys), int(moving or keys)))
    with sleepers(max(k for k, _ in sizes)) as pids:
        source = open_live_source(max_owners=16384)
        freeze_start_up()  # as the commands do once their source is open
        try:
            measure(source, pids, sizes, args.polls, args.warmup, args.interval)
        finally:
            source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
