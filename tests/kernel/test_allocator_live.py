"""Allocator internals on the real kernel: per-CPU page lists and high orders."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.live import LiveSource, open_live_source
from numascope.exporters.call_sites import call_site
from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import PageCacheCpu
from tests.conftest import require, require_root

pytestmark = pytest.mark.kernel
HERE = Path(__file__).parent


def build(name: str, tmp: Path) -> Path:
    cc = shutil.which("cc")
    require(cc is not None, "needs a C compiler for the workload programs")
    binary = tmp / name
    subprocess.run(
        [str(cc), "-O2", "-pthread", "-o", str(binary), str(HERE / f"{name}.c")], check=True
    )
    return binary


@pytest.fixture(scope="module")
def source() -> Iterator[LiveSource]:
    require_root()
    s = open_live_source(probes=["page_alloc", "allocator"])
    try:
        yield s
    finally:
        s.close()


def run_and_poll(source: LiveSource, argv: list[str]) -> Snapshot:
    source.poll()
    subprocess.run(argv, check=True)
    time.sleep(0.2)
    return source.poll()


def cpu0(snapshot: Snapshot) -> PageCacheCpu:
    assert snapshot.allocator is not None
    (cpu,) = [c for c in snapshot.allocator.page_cache_cpus if c.cpu == 0]
    return cpu


def test_freeing_on_another_cpu_raises_the_zone_lock_share(
    source: LiveSource, tmp_path: Path
) -> None:
    require(len(source.topology.cpu_node) >= 2, "needs two CPUs")
    program = str(build("cross_cpu_free", tmp_path))
    # The page-list events are read on their raw tracepoints, through the page
    # translation the page-allocation probe calibrated.
    (allocator,) = [f for f in source.families if f.name == "allocator"]
    assert {"on_zone_locked_raw", "on_pcpu_drain_raw"} <= set(allocator.attached)
    same = cpu0(run_and_poll(source, [program, "same", "16", "32"]))
    cross_snapshot = run_and_poll(source, [program, "cross", "16", "32"])
    cross = cpu0(cross_snapshot)
    # Every page taken under the zone lock is placed on a node the host has,
    # none on the "unknown" slot a wrong translation would fill.
    assert cross_snapshot.allocator is not None
    by_node = {
        n.node: n.refill_pages.delta + n.direct_pages.delta
        for n in cross_snapshot.allocator.page_cache
    }
    assert (
        sum(by_node.get(node, 0) for node in source.topology.node_ids)
        >= cross.zone_locked_pages.delta
        > 0
    )
    assert by_node.get(-1, 0) == 0, by_node
    # 32 rounds of 16 MiB: at least 131072 pages allocated on CPU 0 each time.
    assert same.alloc_pages.delta >= 131072 and cross.alloc_pages.delta >= 131072
    # Freed on CPU 0, pages come back from CPU 0's own list; freed on CPU 1,
    # CPU 0 must refill from the buddy lists under the zone lock.
    assert cross.zone_lock_share > same.zone_lock_share + 0.3, (same, cross)
    assert cross.zone_lock_share > 0.5


def test_huge_page_faults_show_by_order_site_and_node(source: LiveSource, tmp_path: Path) -> None:
    program = build("thp_toucher", tmp_path)
    before = read_vmstat()
    snap = run_and_poll(source, [str(program), "64"])
    thp = read_vmstat()["thp_fault_alloc"] - before["thp_fault_alloc"]
    require(thp > 0, "transparent huge pages are not available to madvise here")
    assert snap.allocator is not None
    sites = [
        s
        for s in snap.allocator.high_order_sites
        if s.workload_name == "thp_toucher" and s.order_class == "9+"
    ]
    assert sites, [(s.workload_name, s.order_class) for s in snap.allocator.high_order_sites]
    events = sum(s.events.delta for s in sites)
    # Every huge-page fault is an order-9 allocation by the workload.
    assert abs(events - thp) <= max(1, 0.01 * thp), (events, thp)
    assert all(s.node == source.topology.node_ids[0] for s in sites)
    assert any("alloc" in frame or "fault" in frame for s in sites for frame in s.frames), sites
    # The call site is the huge-page fault path, past the tracing and allocator frames.
    assert any("huge" in call_site(s.frames) for s in sites), [call_site(s.frames) for s in sites]
    node = snap.nodes[0]
    assert node.delta.pages >= 0 and node.pages_by_order["9+"] >= thp * 512


def test_slab_objects_by_cache_and_requested_node() -> None:
    require_root()
    s = open_live_source(probes=["slab"])
    try:
        s.poll()
        subprocess.run(["find", "/usr/lib", "-name", "*.so"], capture_output=True, check=True)
        time.sleep(0.2)
        snap = s.poll()
    finally:
        s.close()
    assert snap.allocator is not None
    caches = snap.allocator.slab_caches
    assert caches, "no slab objects seen"
    assert any(c.cache.startswith("kmalloc-") for c in caches)
    assert any(not c.cache.startswith("kmalloc-") for c in caches), "no named cache"
    for c in caches:
        split = c.any_node.total + c.local_requested.total + c.remote_requested.total
        assert split == c.objects.total, c
        assert c.cpu_node in s.topology.node_ids
