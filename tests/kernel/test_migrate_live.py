"""The migrate probe on the real kernel, held against /proc/vmstat's pgmigrate_success.

This host has one node, so `migratepages` has nowhere to move pages; compaction
(`vm.compact_memory`) migrates within the node, with reason `compaction`, in the
thread that writes the sysctl. Pages are scattered first so there is something
to compact whatever the machine did before.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.live import LiveSource, open_live_source
from numascope.collectors.probe_families import MigrateFamily
from numascope.snapshot.migration import MigrationSection
from tests.conftest import require, require_root

pytestmark = pytest.mark.kernel

COMPACT = Path("/proc/sys/vm/compact_memory")
SCATTER_BYTES = 256 << 20


# `migrate` (the default) counts without nodes: nothing of it runs on the page
# allocator's paths. `migrate_nodes` adds the page hooks: alone they read the
# perf tracepoints' records; with page allocations attached first, they run on
# the raw tracepoints through its calibrated page translation.
@pytest.fixture(
    scope="module",
    params=[("migrate",), ("migrate_nodes",), ("page_alloc", "migrate_nodes")],
    ids=",".join,
)
def source(request: pytest.FixtureRequest) -> Iterator[LiveSource]:
    require_root()
    require(COMPACT.exists(), f"{COMPACT} missing (kernel without CONFIG_COMPACTION)")
    src = open_live_source(probes=request.param)
    try:
        yield src
    finally:
        src.close()


ATTEMPTS = 8


def scatter_free_pages() -> mmap.mmap:
    """Touch SCATTER_BYTES, then free every other page: holes for compaction,
    between pages it can move; the caller holds the mapping while it runs."""
    area = mmap.mmap(-1, SCATTER_BYTES)
    for offset in range(0, SCATTER_BYTES, mmap.PAGESIZE):
        area[offset] = 1
    for offset in range(0, SCATTER_BYTES, 2 * mmap.PAGESIZE):
        area.madvise(mmap.MADV_DONTNEED, offset, mmap.PAGESIZE)
    return area


def compacted(source: LiveSource) -> tuple[MigrationSection, int]:
    """The section of the poll after a compaction that migrated some of this
    process's pages, and pgmigrate_success's growth around that compaction.

    Where the scattered pages land is the allocator's choice: right after a
    compaction they can sit where the next one has nowhere to move them (a CI
    run saw two compactions in a row migrate 0 pages), so this tries again, up to
    ATTEMPTS times, each attempt a window of its own."""
    for _ in range(ATTEMPTS):
        source.poll()
        before = read_vmstat()["pgmigrate_success"]
        with scatter_free_pages():
            COMPACT.write_text("1\n")
            section = source.poll().migrations
            after = read_vmstat()["pgmigrate_success"]
        assert section is not None, "no migrations section with the migrate family attached"
        mine = [r for r in section.rows if r.tgid == os.getpid() and r.reason == "compaction"]
        if any(r.succeeded.delta for r in mine):
            return section, after - before
    raise AssertionError(f"{ATTEMPTS} compactions migrated none of this process's pages")


def test_compaction_counted_as_the_kernel_counts_it(source: LiveSource) -> None:
    family = source.family("migrate")
    assert isinstance(family, MigrateFamily), source.failed
    raw = source.family("page_alloc") is not None
    hooks = {"on_page_alloc_raw", "on_page_free_raw"} if raw else {"on_page_alloc", "on_page_free"}
    # NUMA balancing's task moves are counted in both modes (they are rare events).
    tasks = {"on_task_move", "on_task_swap", "on_task_stick"}
    if family.probe.tracks_nodes:
        assert hooks | tasks <= set(family.attached), family.attached
    else:
        assert set(family.attached) == {"on_migrate_end"} | tasks, family.attached
    section, kernel_grew = compacted(source)
    assert section.tracks_task_moves
    assert kernel_grew > 0, "compaction migrated nothing: no figure to check"
    counted = sum(r.succeeded.delta for r in section.rows)
    # The counters read in the same poll cover exactly the probe's window ...
    same_poll = section.host_kernel()["pgmigrate_success"].delta
    assert abs(counted - same_poll) <= 0.01 * same_poll, (counted, same_poll)
    # ... and, with nothing else compacting, the test's own reads agree too.
    assert abs(counted - kernel_grew) <= 0.01 * kernel_grew, (counted, kernel_grew)


def test_compaction_attributed_to_the_writing_process_with_source_nodes(
    source: LiveSource,
) -> None:
    section, _ = compacted(source)
    mine = [r for r in section.rows if r.tgid == os.getpid() and r.reason == "compaction"]
    assert mine, [(r.tgid, r.name, r.reason) for r in section.rows]
    row = mine[0]
    assert row.succeeded.delta > 0 and not row.kernel_thread
    if not section.tracks_nodes:
        assert not row.sources and not row.targets  # unknown, not guessed
        return
    # One node here: every page compaction freed in its windows lies on it.
    # Compaction takes its targets off the free lists, not through the page
    # allocator, so it shows no targets.
    freed = sum(c.delta for c in row.sources.values())
    assert set(row.sources) == {0} and freed >= row.succeeded.delta, row.sources
