"""High-order allocations in a two-node guest, held against the kernel's counters.

Huge-page faults (a madvise(MADV_HUGEPAGE) region, tests/kernel/thp_toucher.c,
compiled on the host by tests/vm/guest_runner.py) are order-9 allocations:
bound to node 1, numascope must show them under order class 9+ on node 1, as
many as /proc/vmstat's thp_fault_alloc, and as many pages as node 1's free
blocks of order 9 and up lost in /proc/buddyinfo. Preferring node 1 while it is
full, the faults fall back to node 0: numascope's pages for the workload and its
node-1-CPU to node-0 events agree with numastat numa_foreign/numa_miss.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.live import LiveSource
from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import HighOrderSite
from tests.conftest import require
from tests.vm.guest.checks import RecordProperty, report, workload_row
from tests.vm.guest.window import Window, agree, agree_on_node_totals, measure
from tests.vm.guest.workloads import holding, pages, run_in_cgroup
from tests.vm.topologies import HELPERS_ENV, GuestTopology

pytestmark = pytest.mark.guest

THP = Path("/sys/kernel/mm/transparent_hugepage")
HUGE_ORDER = 9  # x86-64: a transparent huge page is one order-9 allocation
HUGE_PAGES = 1 << HUGE_ORDER
BOUND_MIB = 256
FALLBACK_MIB = 128
# What else may split or merge node 1's big free blocks while the workload
# faults (per-CPU list refills of its small allocations, page tables): two
# order-10 blocks' worth, plus 2% of the pages counted.
BUDDY_SLACK_PAGES = 2 * (1 << 10)
BUDDY_SLACK = 0.02
# The filler leaves this much free on node 1 above its high watermark, so the
# filler's own bound allocations never fail (as in test_placement).
HEADROOM = 16 << 20
COMM = "thp_toucher"
# numactl's own start-up, before it applies the policy and execs the workload,
# runs under the default policy on the test's node-0 CPU (as in test_placement).
STARTUP_PAGES = 1024
# Huge-page faults are few events (one per 2 MiB): comparisons of event counts
# allow 1% of the kernel's count, and at least two events.
EVENT_SCALE = 200


def helper(name: str) -> str:
    folder = os.environ.get(HELPERS_ENV, "")
    binary = Path(folder) / name
    require(bool(folder) and binary.is_file(), f"{name} was not compiled by the host ({binary})")
    return str(binary)


@contextmanager
def huge_pages_on_madvise() -> Iterator[None]:
    """THP for madvised regions only, with direct compaction there; restored after.

    The guest session runs with THP off (numastat comparisons elsewhere count one
    event per page); only this scenario's workload asks for huge pages."""
    files = {name: THP / name for name in ("enabled", "defrag")}
    before = {name: _selected(path.read_text()) for name, path in files.items()}
    try:
        for path in files.values():
            path.write_text("madvise")
        yield
    finally:
        for name, path in files.items():
            path.write_text(before[name])


def _selected(choices: str) -> str:
    """The bracketed word of a sysfs choice list: "always [madvise] never"."""
    return choices.split("[", 1)[1].split("]", 1)[0]


def free_pages_in_big_blocks(node: int, min_order: int = HUGE_ORDER) -> int:
    """Free pages in blocks of `min_order` and up on `node`, every zone (/proc/buddyinfo)."""
    total = 0
    for line in Path("/proc/buddyinfo").read_text().splitlines():
        words = line.replace(",", " ").split()
        if words[:2] != ["Node", str(node)]:
            continue
        counts = [int(w) for w in words[4:]]
        total += sum(n << order for order, n in enumerate(counts) if order >= min_order)
    return total


@contextmanager
def touched_and_held(argv: list[str]) -> Iterator[int]:
    """Start `argv` (thp_toucher ... hold); yield its pid once every page is touched."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"{argv} failed: {err}")
    try:
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)


def sites_of(snapshot: Snapshot, pid: int | None) -> list[HighOrderSite]:
    """The high-order call sites of `pid` (every site for None)."""
    assert snapshot.allocator is not None, "no allocator section: the family did not attach"
    return [s for s in snapshot.allocator.high_order_sites if pid is None or s.pid == pid]


def order_pages(window: Window, node: int, order_class: str) -> int:
    def pages_of(s: Snapshot) -> int:
        return next(n.pages_by_order.get(order_class, 0) for n in s.nodes if n.node == node)

    return pages_of(window.after) - pages_of(window.before)


def failed(window: Window, cpu_node: int, order_class: str) -> float:
    def count(s: Snapshot) -> float:
        assert s.allocator is not None
        row = next(n for n in s.allocator.nodes if n.node == cpu_node)
        return row.failed_by_order[order_class].total

    return count(window.after) - count(window.before)


def vmstat_delta(before: dict[str, int], after: dict[str, int], key: str) -> int:
    return after.get(key, 0) - before.get(key, 0)


@pytest.mark.topologies("two_node")
def test_huge_page_faults_bound_to_node_1_by_order_and_node(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty
) -> None:
    binary = helper(COMM)
    argv = ["numactl", "--cpunodebind=1", "--membind=1", binary, str(BOUND_MIB), "hold"]
    with huge_pages_on_madvise(), ExitStack() as held:
        vm_before = read_vmstat()
        free_before = free_pages_in_big_blocks(1)
        window, pid = measure(live, lambda: held.enter_context(touched_and_held(argv)))
        vm_after = read_vmstat()
        free_after = free_pages_in_big_blocks(1)
    thp = vmstat_delta(vm_before, vm_after, "thp_fault_alloc")
    sites = sites_of(window.after, pid)
    huge = [s for s in sites if s.order_class == "9+"]
    ours = order_pages(window, 1, "9+")
    drop = free_before - free_after
    # Kept before any check, so a failure still shows the figures on the host.
    record_property(
        "figures",
        f"thp_fault_alloc {thp}; workload order-9+ events by node "
        f"{[(s.node, int(s.events.total)) for s in huge]}; node 1 order-9+ pages {ours}; "
        f"node 1 free pages in order>=9 blocks {free_before} -> {free_after}; "
        f"thp_fault_fallback {vmstat_delta(vm_before, vm_after, 'thp_fault_fallback')}",
    )
    require(thp > 0, "no transparent huge page was faulted in (THP unavailable in the guest?)")
    assert huge, f"no order-9+ site for pid {pid}: " + ", ".join(
        f"{s.workload_name} {s.order_class} node {s.node}" for s in sites_of(window.after, None)
    )
    assert all(s.workload_name == COMM for s in huge), huge
    on_node = {n: sum(int(s.events.total) for s in huge if s.node == n) for n in guest.node_ids}
    assert on_node[0] == 0, f"huge pages of a process bound to node 1 on node 0: {on_node}"
    lines = [
        agree("the workload's order-9+ events on node 1 / thp_fault_alloc", on_node[1], thp, thp)
    ]
    row = window.process(pid)
    # numactl starts on the test's node-0 CPU and execs the workload on node 1's: the
    # row is named by the owner that moved last, the workload itself.
    assert row.name == COMM, row.name
    assert row.total.pages_by_node.get(1, 0) >= thp * HUGE_PAGES, row.total
    assert row.total.pages_by_node.get(0, 0) <= STARTUP_PAGES, row.total

    # Node level: every order-9+ page node 1 supplied in the window, against the
    # pages that left node 1's blocks of order 9 and up while the workload holds them.
    allowed = BUDDY_SLACK * ours + BUDDY_SLACK_PAGES
    line = f"node 1 order-9+ pages: numascope {ours}, buddyinfo order>=9 free drop {drop}"
    lines.append(line)
    assert abs(ours - drop) <= allowed, f"{line}: differ by more than {allowed:.0f}"
    assert ours >= thp * HUGE_PAGES, (ours, thp)
    assert order_pages(window, 0, "9+") < thp * HUGE_PAGES, "node 0 supplied the huge pages"
    frames = max(huge, key=lambda s: s.events.total).frames
    record_property("call site", " < ".join(frames[:6]) or "(no stack)")
    report(record_property, row, lines)


@pytest.mark.topologies("two_node")
def test_huge_pages_preferring_a_full_node_1_fall_back_to_node_0(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty
) -> None:
    binary = helper(COMM)
    preferred, other = 1, 0
    argv = ["numactl", f"--cpunodebind={preferred}", f"--preferred={preferred}"]
    argv += [binary, str(FALLBACK_MIB)]
    with huge_pages_on_madvise(), holding(preferred, HEADROOM, cpu_node=preferred):
        vm_before = read_vmstat()
        window, done = measure(
            live, lambda: run_in_cgroup("thp_preferred_full", argv, cpu_node=preferred)
        )
        vm_after = read_vmstat()
    huge = [s for s in sites_of(window.after, done.pid) if s.order_class == "9+"]
    by_node = {n: sum(int(s.events.total) for s in huge if s.node == n) for n in guest.node_ids}
    thp = vmstat_delta(vm_before, vm_after, "thp_fault_alloc")
    ours = window.matrix_events(preferred, other)
    record_property(
        "figures",
        f"thp_fault_alloc {thp}; workload huge pages by node {by_node}; thp_fault_fallback "
        f"{vmstat_delta(vm_before, vm_after, 'thp_fault_fallback')}; failed order-9+ "
        f"allocations from node {preferred}'s CPUs {failed(window, preferred, '9+'):.0f}; "
        f"compact_stall {vmstat_delta(vm_before, vm_after, 'compact_stall')}; "
        f"events node {preferred} CPUs -> node {other}: numascope {ours}, kernel "
        f"numa_foreign {window.kernel(preferred, 'numa_foreign')}, "
        f"numa_miss {window.kernel(other, 'numa_miss')}",
    )
    row = workload_row(window, done, comm=COMM)
    fallback = row.total.pages_by_node.get(other, 0)
    assert fallback >= pages(FALLBACK_MIB) // 4, f"node {preferred} was not full: {row.total}"
    # numa_foreign (on the preferred node) and numa_miss (on the node that served)
    # count allocations that missed their preferred node: for the workload that is
    # node 1 by policy, for anything else on node 1's CPU node 1 by default. So
    # numascope's figure is every allocation by node 1's CPUs that node 0 served.
    assert row.total.events_by_node.get(other, 0) <= ours
    lines = agree_on_node_totals(window, guest.node_ids, pages(FALLBACK_MIB))
    lines.append(
        agree(
            f"node {preferred} CPUs' allocations served by node {other} / numa_foreign",
            ours,
            window.kernel(preferred, "numa_foreign"),
            EVENT_SCALE,
        )
    )
    lines.append(
        agree(
            f"the same / numa_miss on node {other}",
            ours,
            window.kernel(other, "numa_miss"),
            EVENT_SCALE,
        )
    )
    lines.append(
        agree("the workload's order-9+ events / thp_fault_alloc", sum(by_node.values()), thp, thp)
    )
    report(record_property, row, lines)
