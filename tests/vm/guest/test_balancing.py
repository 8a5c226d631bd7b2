"""NUMA balancing moving a process's memory toward its CPU, seen by numascope.

A process first touches 64 MiB while it runs on node 1's CPU (so the pages are
on node 1), then moves itself to node 0's CPU and keeps touching them. With
kernel.numa_balancing=1 the kernel's hinting faults find the pages misplaced
and migrate them to node 0. numascope's balancing section (read through the
kernel-counter source, the one that needs no BPF) must show the migrations as
/proc/PID/sched does, and they must match /proc/vmstat numa_pages_migrated
within 1%; the migrate family (with migrate_nodes) must count them for that
process with reason numa_misplaced, onto node 0, as many as the kernel counted;
the residence (numa_maps, read directly) must have followed. The toucher is
pinned to node 0's CPU while its memory is on node 1, so balancing also wants to
move the thread to node 1 and cannot: the migrate family's task moves
(sched_*_numa) for it must be what a tracefs instance recording the same
tracepoints printed for it, outcome by outcome.

It runs twice: the main thread touching, and a worker thread touching while the
main thread only waits (a server's shape): the kernel counts the migrations in
the worker's /proc/PID/task/TID/sched, and numascope's row must hold them all.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.kernel_source import KernelCounterSource
from numascope.collectors.live import LiveSource
from numascope.snapshot.balancing import BalancingSection, Verdict
from numascope.snapshot.migration import UNKNOWN_NODE, MigrationRow, task_moves_of
from numascope.snapshot.model import Snapshot
from numascope.topology import read_topology
from tests.conftest import require, require_root
from tests.vm.guest.checks import RecordProperty
from tests.vm.guest.window import agree
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

MIB = 64
PAGES = MIB * (1 << 20) // 4096
# Balancing must have moved this share of the pages before the check; it scans
# 256 MiB per period, so every page is found again at each period.
MOVED = 0.9
WAIT_SECONDS = 300
DEBUG = Path("/sys/kernel/debug")
KNOBS = DEBUG / "sched/numa_balancing"

# Started on CPU argv[2] (node 0), touches its buffer from CPU argv[1] (node 1) so
# only the buffer lands there, moves back and keeps writing every page of it until
# a line arrives on stdin. The interpreter's own memory stays on node 0 throughout,
# so the pages balancing migrates for it are the buffer's. With argv[4] "thread" a
# worker thread does all of it (sched_setaffinity(0) pins the calling thread) while
# the main thread waits in join().
_TOUCHER = """
import ctypes, mmap, os, select, sys, threading
first, then = (int(a) for a in sys.argv[1:3])
size = int(sys.argv[3])
def touch():
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    view = memoryview(buf)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    os.sched_setaffinity(0, {first})
    for off in range(0, size, mmap.PAGESIZE):
        view[off] = 1
    os.sched_setaffinity(0, {then})
    print(f"ready {addr:x}", flush=True)
    n = 0
    while not select.select([sys.stdin], [], [], 0)[0]:
        n = (n + 1) & 0x7F
        for off in range(0, size, mmap.PAGESIZE):
            view[off] = n
    print("stopped", flush=True)
    sys.stdin.read()
if sys.argv[4] == "thread":
    worker = threading.Thread(target=touch)
    worker.start()
    worker.join()
else:
    touch()
"""
_MIGRATED = re.compile(r"^numa_pages_migrated\s*:\s*(\d+)", re.MULTILINE)
TRACING = Path("/sys/kernel/tracing")
# numascope's outcome -> the tracepoint, and per task it counts the fields naming
# the task and the node it was sent to (a swap counts for both of its tasks, each
# toward the other's node).
TASK_EVENTS = {
    "moved": ("sched_move_numa", (("tgid", "dst_nid"),)),
    "swapped": ("sched_swap_numa", (("src_tgid", "dst_nid"), ("dst_tgid", "src_nid"))),
    "stuck": ("sched_stick_numa", (("src_tgid", "dst_nid"),)),
}


@contextmanager
def _recording_task_moves() -> Iterator[Path]:
    """A tracefs instance recording sched_{move,swap,stick}_numa: the kernel's own
    print of the events numascope counts. Yields the instance's folder."""
    if not (TRACING / "instances").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACING)], check=False)
    instance = TRACING / "instances" / "numascope-task-moves"
    instance.mkdir(exist_ok=True)
    try:
        (instance / "buffer_size_kb").write_text("4096")
        for event, _ in TASK_EVENTS.values():
            (instance / "events" / "sched" / event / "enable").write_text("1")
        yield instance
    finally:
        instance.rmdir()  # the kernel drops the instance and its buffer


def _traced_moves(instance: Path, tgid: int) -> dict[str, dict[int, int]]:
    """Events that name `tgid`, per outcome and node sent to, from the instance's trace."""
    out: dict[str, dict[int, int]] = {outcome: {} for outcome in TASK_EVENTS}
    for line in (instance / "trace").read_text().splitlines():
        for outcome, (event, tasks) in TASK_EVENTS.items():
            if f" {event}: " not in line:
                continue
            fields = dict(re.findall(r"(\w+)=(-?\d+)", line))
            for task, node in tasks:
                if int(fields[task]) == tgid:
                    nodes = out[outcome]
                    nodes[int(fields[node])] = nodes.get(int(fields[node]), 0) + 1
    return out


def _kernel_migrated(pid: int) -> int:
    """numa_pages_migrated summed over every thread of `pid`, as the kernel prints it."""
    tasks = Path(f"/proc/{pid}/task")
    total = 0
    for task in tasks.iterdir():
        m = _MIGRATED.search((task / "sched").read_text())
        total += int(m.group(1)) if m else 0
    return total


@contextmanager
def _set(path: Path, value: str) -> Iterator[None]:
    """Write `value` into a sysctl or debugfs knob, and restore it afterwards."""
    before = path.read_text().strip()
    path.write_text(value)
    try:
        yield
    finally:
        path.write_text(before)


def _others(section: BalancingSection | None, pid: int) -> int:
    """Pages migrated since their previous reading for every process but `pid`."""
    if section is None:
        return 0
    return sum(p.pages_migrated_delta for p in section.processes if p.pid != pid)


def _migrated_for(polls: list[Snapshot], pid: int) -> list[MigrationRow]:
    """The migrate family's rows of process `pid` over `polls` (deltas)."""
    return [
        r for s in polls if s.migrations is not None for r in s.migrations.rows if r.tgid == pid
    ]


def _node_pages(pid: int, address: str) -> dict[int, int]:
    """Pages by node of the mapping starting at `address`, from numa_maps."""
    for line in Path(f"/proc/{pid}/numa_maps").read_text().splitlines():
        if line.split(" ", 1)[0] == address:
            return {int(n): int(c) for n, c in re.findall(r"\bN(\d+)=(\d+)", line)}
    raise AssertionError(f"no mapping at {address} in pid {pid}'s numa_maps")


@pytest.mark.topologies("two_node")
@pytest.mark.parametrize("toucher", ["main", "thread"])
def test_balancing_moves_memory_toward_the_cpu(
    guest: GuestTopology,
    with_migrate_nodes: LiveSource,
    record_property: RecordProperty,
    toucher: str,
) -> None:
    require_root()
    if not KNOBS.exists():
        subprocess.run(["mount", "-t", "debugfs", "nodev", str(DEBUG)], check=False)
    require(KNOBS.exists(), f"{KNOBS} is missing: the kernel's balancing knobs are needed")
    Path("/sys/kernel/mm/transparent_hugepage/enabled").write_text("never")  # 4 KiB pages
    # This process stays on node 0's CPU with all its memory there, so balancing has
    # nothing of it to move: the pages vmstat counts are then the toucher's, less the
    # few of the guest's other processes (numascope's rows count those).
    os.sched_setaffinity(0, set(guest.nodes[0].cpus))
    subprocess.run(["migratepages", str(os.getpid()), "all", "0"], check=True)
    source = KernelCounterSource(read_topology())
    with (
        _set(Path("/proc/sys/kernel/numa_balancing"), "1"),
        _set(KNOBS / "scan_delay_ms", "0"),
        _set(KNOBS / "scan_period_min_ms", "100"),
        _set(KNOBS / "scan_period_max_ms", "400"),
        _recording_task_moves() as traced,
    ):
        others = 0  # pages balancing migrated for other processes, as numascope saw them
        source.poll()  # every process's first reading: its later deltas start here
        polls = [with_migrate_nodes.poll()]  # the migrate family's counts start here
        cpus = (str(guest.nodes[1].cpus[0]), str(guest.nodes[0].cpus[0]))
        before = read_vmstat().get("numa_pages_migrated", 0)
        child = subprocess.Popen(
            [sys.executable, "-c", _TOUCHER, *cpus, str(MIB << 20), toucher],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            ready = child.stdout.readline().split()
            assert ready[:1] == ["ready"], ready
            address = ready[1]
            started = time.monotonic()
            first = _node_pages(child.pid, address)
            assert first.get(1, 0) >= MOVED * PAGES, f"first touch not on node 1: {first}"
            migrated = 0
            while time.monotonic() - started < WAIT_SECONDS:
                others += _others(source.poll().balancing, child.pid)
                polls.append(with_migrate_nodes.poll())
                migrated = _kernel_migrated(child.pid)
                if migrated >= MOVED * PAGES:
                    break
                time.sleep(1)
            child.stdin.write("stop\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "stopped"
            seconds = time.monotonic() - started
            # Touching has stopped, but a page or two may still migrate (a worker's
            # stack, first touched on node 1): numascope's reading must lie between
            # the kernel's just before it and just after.
            migrated_before = _kernel_migrated(child.pid)
            section = source.poll().balancing
            polls.append(with_migrate_nodes.poll())
            others += _others(section, child.pid)
            migrated = _kernel_migrated(child.pid)
            kernel = read_vmstat().get("numa_pages_migrated", 0) - before
            resident = _node_pages(child.pid, address)
            printed_nodes = _traced_moves(traced, child.pid)
        finally:
            child.stdin.close()
            child.wait(timeout=60)
    assert section is not None
    row = section.process(child.pid)
    assert row is not None, f"pid {child.pid} not in numascope's balancing section"
    record_property(
        "balancing",
        f"{toucher}: after {seconds:.0f} s: migrated {migrated} (numascope {row.pages_migrated}),"
        f" vmstat {kernel}; numa_maps {first} -> {resident}; preferred {row.preferred_node},"
        f" node {row.current_node}, locality {row.locality}, verdict {row.verdict}",
    )
    assert migrated >= MOVED * PAGES, f"balancing moved too little in {seconds:.0f} s"
    assert migrated_before <= row.pages_migrated <= migrated, (migrated_before, migrated)
    assert row.current_node == 0 and row.preferred_node == 0, row
    assert row.verdict is not Verdict.CHURNING, row
    mine = kernel - others
    line = agree("numa_pages_migrated, process / vmstat", row.pages_migrated, mine, PAGES)
    record_property("kernel", f"{line} (vmstat {kernel} less {others} of other processes)")
    # Residence followed: the pages now live on node 0, as many as were migrated.
    assert resident.get(0, 0) >= MOVED * PAGES, resident
    moved_in = resident.get(0, 0) - first.get(0, 0)
    assert abs(moved_in - migrated) <= 0.01 * PAGES, (first, resident, migrated)
    assert section.host.enabled
    # The migrate family saw the same migrations: the toucher's, numa_misplaced,
    # onto node 0 (the pages it was given inside each migration's window).
    rows = _migrated_for(polls, child.pid)
    misplaced = int(sum(r.succeeded.delta for r in rows if r.reason == "numa_misplaced"))
    onto_0 = int(sum(c.delta for r in rows for n, c in r.targets.items() if n == 0))
    assert {r.reason for r in rows if r.succeeded.delta} == {"numa_misplaced"}, rows
    for check in (
        agree("numa_misplaced migrated (migrate) / numa_pages_migrated", misplaced, mine, PAGES),
        agree("targets on node 0 / numa_misplaced migrated", onto_0, misplaced, PAGES),
    ):
        record_property("migrate", check)
    # Task moves: what numascope counted for the toucher is what tracefs printed.
    # Outcome by outcome, and node by node (-1: no node; numascope's unknown node).
    moves = task_moves_of(polls[-1].migrations, child.pid)
    counted_nodes = {
        o: {n: int(c.total) for n, c in r.to_nodes.items() if c.total} for o, r in moves.items()
    }
    counted = {o: sum(nodes.values()) for o, nodes in counted_nodes.items()}
    printed = {o: sum(nodes.values()) for o, nodes in printed_nodes.items()}
    record_property("task moves", f"numascope {counted_nodes}, tracefs {printed_nodes}")
    assert counted == printed
    assert counted_nodes == printed_nodes
    assert printed["stuck"] > 0, "balancing never tried to move the pinned toucher"
    # Pinned to node 0's CPU, the toucher may use no CPU of node 1: no node to send it to.
    stuck = task_moves_of(polls[-1].migrations, child.pid)["stuck"]
    assert set(stuck.to_nodes) == {UNKNOWN_NODE}, stuck
