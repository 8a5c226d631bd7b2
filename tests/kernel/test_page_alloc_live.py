"""The page-allocation probe on the real kernel, held against the kernel's counters."""

from __future__ import annotations

import ctypes
import mmap
import subprocess
import threading
import time

import pytest

from numascope.collectors.live import LiveSource, open_live_source
from numascope.collectors.probe_families import PageAllocFamily
from numascope.probes import bcc_loader
from numascope.probes.page_alloc import RAW_ENTRY, RAW_PAGE_ALLOC, RECORD_ENTRY, PageAllocProbe
from numascope.probes.page_pfn import pagemap_pfn
from numascope.snapshot.model import Snapshot
from tests.conftest import require_root

pytestmark = pytest.mark.kernel

TOUCH_BYTES = 64 << 20


def kernel_events(snapshots: list[Snapshot]) -> dict[int, int]:
    """numastat local_node + other_node added over these snapshots, per node."""
    out: dict[int, int] = {}
    for snap in snapshots:
        for k in snap.kernel:
            out[k.node] = out.get(k.node, 0) + k.delta["local_node"] + k.delta["other_node"]
    return out


def our_events(before: Snapshot, after: Snapshot) -> dict[int, int]:
    start = {n.node: n.total.events for n in before.nodes}
    return {n.node: n.total.events - start[n.node] for n in after.nodes}


def first_poll(source: LiveSource) -> Snapshot:
    """The window's start: a poll after the first one.

    The first interval after attaching can end with a CPU's cached counts from
    the start-up (compiling the other probe families allocates thousands of
    pages) moved into the next interval: totals stay exact, but a window that
    starts at the first poll would see them twice on one side.
    """
    source.poll()
    time.sleep(0.1)
    return source.poll()


def settle(source: LiveSource, polls: int = 3) -> list[Snapshot]:
    """Poll a few times so counts cached in per-CPU slots are drained."""
    out = []
    for _ in range(polls):
        time.sleep(0.2)
        out.append(source.poll())
    return out


def assert_dd_is_attributed(source: LiveSource) -> None:
    """dd's 64 MiB lands on its pid and comm, and node totals match numastat."""
    base = first_poll(source)
    child = subprocess.run(
        ["dd", "if=/dev/zero", "of=/dev/null", f"bs={TOUCH_BYTES}", "count=1"],
        capture_output=True,
        check=True,
    )
    assert child.returncode == 0
    polls = settle(source)
    final = polls[-1]
    rows = [w for w in final.processes if w.name == "dd" and w.total.pages >= 16384]
    assert rows, (
        f"no dd row with >= 16384 pages: {[(w.name, w.total.pages) for w in final.processes][:20]}"
    )
    row = rows[0]
    assert row.pid is not None and not row.alive
    node0 = final.nodes[0].node
    assert row.total.pages_by_node.get(node0, 0) >= 16384
    # Node totals against numastat over the same window.
    ours = our_events(base, final)
    kernels = kernel_events(polls)
    for node, kernel_count in kernels.items():
        assert kernel_count > 16384
        assert abs(ours[node] - kernel_count) <= 0.01 * kernel_count, (node, ours, kernels)


def page_probe(source: LiveSource) -> PageAllocProbe:
    family = source.family("page_alloc")
    assert isinstance(family, PageAllocFamily), source.failed
    return family.probe


def test_touching_64_mib_is_attributed_to_its_pid_and_comm(live_source: LiveSource) -> None:
    probe = page_probe(live_source)
    # On this kernel the cheaper raw tracepoint entry must be the one counting.
    assert probe.entry == RAW_ENTRY, probe.why_record
    # ... and the health says where it is attached.
    attached = live_source.poll().health.probes_attached
    assert RAW_PAGE_ALLOC in attached and "kmem:mm_page_alloc" not in attached, attached
    assert_dd_is_attributed(live_source)


def test_the_record_entry_counts_the_same_when_the_raw_one_cannot_run() -> None:
    require_root()
    source = open_live_source(probes=("page_alloc",), absent={RAW_PAGE_ALLOC})
    try:
        probe = page_probe(source)
        assert probe.entry == RECORD_ENTRY
        assert RAW_PAGE_ALLOC in probe.why_record
        assert "kmem:mm_page_alloc" in source.poll().health.probes_attached
        assert_dd_is_attributed(source)
    finally:
        source.close()


# Both tracepoints, for this thread's allocations only: the pfn the raw entry's
# translation gives, and the pfn the kernel put in the record.
BOTH_SIDES = """
#define SLOTS 256
struct seen { u64 tid; u64 base; u64 shift; u32 raw_n; u32 record_n;
              u64 raw[SLOTS]; u64 record[SLOTS]; };
BPF_ARRAY(seen, struct seen, 1);
struct record_args { u64 common; u64 pfn; };

int from_raw(struct bpf_raw_tracepoint_args *ctx)
{
    u32 zero = 0;
    struct seen *s = seen.lookup(&zero);
    if (!s || s->tid != (u32)bpf_get_current_pid_tgid() || !ctx->args[0])
        return 0;
    u32 i = s->raw_n;
    if (i < SLOTS) {
        s->raw[i] = (ctx->args[0] - s->base) >> (s->shift & 63);
        s->raw_n = i + 1;
    }
    return 0;
}

int from_record(struct record_args *args)
{
    u32 zero = 0;
    struct seen *s = seen.lookup(&zero);
    if (!s || s->tid != (u32)bpf_get_current_pid_tgid() || args->pfn == (u64)-1)
        return 0;
    u32 i = s->record_n;
    if (i < SLOTS) {
        s->record[i] = args->pfn;
        s->record_n = i + 1;
    }
    return 0;
}
"""


def test_the_calibrated_translation_gives_the_pfns_the_kernel_records(
    live_source: LiveSource,
) -> None:
    """The same allocations, seen from both tracepoints: every pfn the kernel
    recorded is one the raw side's translation gave, and so is the pfn of every
    page touched (from /proc/self/pagemap). The raw side also sees what this
    thread allocates while the record side is being attached and detached."""
    probe = page_probe(live_source)
    assert probe.page_map is not None, probe.why_record
    bpf = bcc_loader.load_program(BOTH_SIDES)
    try:
        table = bpf["seen"]
        leaf = table.Leaf()
        leaf.tid = threading.get_native_id()
        leaf.base, leaf.shift = probe.page_map.base, probe.page_map.shift
        table[table.Key(0)] = leaf
        bpf.attach_raw_tracepoint(tp=b"mm_page_alloc", fn_name=b"from_raw")
        bpf.attach_tracepoint(tp=b"kmem:mm_page_alloc", fn_name=b"from_record")
        area = mmap.mmap(-1, 128 * mmap.PAGESIZE)
        start = ctypes.c_char.from_buffer(area)
        address = ctypes.addressof(start)
        del start
        for offset in range(0, len(area), mmap.PAGESIZE):
            area[offset] = 1
        touched = {pagemap_pfn(address + offset) for offset in range(0, len(area), mmap.PAGESIZE)}
        area.close()
        bpf.detach_tracepoint(tp=b"kmem:mm_page_alloc")
        bpf.detach_raw_tracepoint(tp=b"mm_page_alloc")
        got = table[table.Key(0)]
        raw = sorted(got.raw[i] for i in range(got.raw_n))
        record = sorted(got.record[i] for i in range(got.record_n))
    finally:
        bpf.cleanup()
    assert len(record) >= 128
    assert set(record) <= set(raw)
    assert touched <= set(raw)
    assert len(raw) - len(record) <= 32, (len(raw), len(record))


def test_more_owners_than_the_map_holds_still_add_up() -> None:
    require_root()
    source = open_live_source(max_owners=8)
    try:
        base = first_poll(source)
        procs = [
            subprocess.Popen(["dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"])
            for _ in range(40)
        ]
        for p in procs:
            assert p.wait() == 0
        polls = settle(source)
        final = polls[-1]
        other = final.process("other")
        assert other is not None and other.total.events > 0, "the overflow entry saw nothing"
        assert final.health.overflow_events == other.total.events
        ours = our_events(base, final)
        for node, kernel_count in kernel_events(polls).items():
            assert abs(ours[node] - kernel_count) <= 0.01 * kernel_count, (node, ours, kernel_count)
    finally:
        source.close()
