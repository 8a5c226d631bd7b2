"""The reclaim and interrupt probes on the real kernel, held against its own counters."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.collectors.irq_info import read_interrupts
from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.live import LiveSource, open_live_source
from numascope.collectors.probe_families import IrqFamily, ReclaimFamily
from numascope.probes.bcc_loader import TRACEFS
from numascope.probes.reclaim import KIND_DIRECT, KIND_KSWAPD, KIND_MEMCG
from numascope.snapshot.model import Snapshot
from tests.conftest import require, require_root

pytestmark = pytest.mark.kernel

MEMCG_V1 = Path("/sys/fs/cgroup/memory")
SCRATCH = Path("/var/tmp")  # on a disk: O_DIRECT reads there raise the disk's IRQ
IO_BLOCKS = 4096


@pytest.fixture(scope="module")
def source() -> Iterator[LiveSource]:
    require_root()
    src = open_live_source(probes=("reclaim", "irq"))
    try:
        yield src
    finally:
        src.close()


def _family(source: LiveSource, kind: type) -> object:
    found = [f for f in source.families if isinstance(f, kind)]
    assert found, f"{kind.__name__} not attached: {source.failed}"
    return found[0]


@pytest.fixture(scope="module")
def scratch_file() -> Iterator[Path]:
    path = SCRATCH / f"numascope-test-{uuid.uuid4().hex[:8]}.dat"
    # Written with O_DIRECT so none of it sits in the page cache afterwards.
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=128", "oflag=direct", "status=none"],
        check=True,
    )
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def direct_reads(path: Path, blocks: int = IO_BLOCKS) -> None:
    """4 KiB reads that bypass the page cache: one disk request, one interrupt each."""
    subprocess.run(
        ["dd", f"if={path}", "of=/dev/null", "bs=4k", f"count={blocks}", "iflag=direct"],
        check=True,
        capture_output=True,
    )


def irq_totals(snapshot: Snapshot) -> dict[int, float]:
    return {i.irq: sum(c.total for c in i.count_by_node.values()) for i in snapshot.irqs}


def test_irq_counts_agree_with_proc_interrupts(source: LiveSource, scratch_file: Path) -> None:
    before = source.poll()
    kernel_before = read_interrupts()
    direct_reads(scratch_file)
    after = source.poll()
    kernel_after = read_interrupts()

    ours_before, ours_after = irq_totals(before), irq_totals(after)
    busy = {
        irq: line.total - kernel_before[irq].total
        for irq, line in kernel_after.items()
        if irq in kernel_before and line.total - kernel_before[irq].total >= 500
    }
    assert busy, "no IRQ fired 500 times during 4096 O_DIRECT reads: no disk interrupt?"
    for irq, kernel_delta in busy.items():
        ours = ours_after.get(irq, 0) - ours_before.get(irq, 0)
        assert abs(ours - kernel_delta) <= 0.02 * kernel_delta, (irq, ours, kernel_delta)
    disk = max(busy, key=lambda i: busy[i])
    row = next(i for i in after.irqs if i.irq == disk)
    assert row.name and row.name != f"irq{disk}"
    assert row.affinity, "affinity list not read"
    # Handler time is real time: positive and well under the window.
    seconds = sum(c.delta for c in row.seconds_by_node.values())
    assert 0 < seconds < after.interval
    # Every CPU that handled it belongs to a node numascope knows.
    assert set(row.count_by_node) <= set(after.node_ids)


def test_softirq_time_is_counted_per_vector(source: LiveSource, scratch_file: Path) -> None:
    source.poll()
    direct_reads(scratch_file, 512)
    after = source.poll()
    vectors = {s.vector: s for s in after.softirqs}
    # Block completions run in the BLOCK softirq, and the tick's timers in TIMER.
    assert "BLOCK" in vectors or "TIMER" in vectors, sorted(vectors)
    for s in after.softirqs:
        for node, count in s.count_by_node.items():
            assert count.total >= count.delta >= 0
            assert s.seconds_by_node[node].total >= 0


def test_kswapd_and_direct_reclaim_agree_with_vmstat(source: LiveSource) -> None:
    family = _family(source, ReclaimFamily)
    assert isinstance(family, ReclaimFamily)
    source.poll()
    vm_before = read_vmstat()
    ours_before = family.collector.node_totals()
    time.sleep(0.5)
    vm_after = read_vmstat()
    ours_after = family.collector.node_totals()

    def ours(kind: int, field: str) -> int:
        return sum(
            getattr(t, field)[kind] - getattr(ours_before[n], field)[kind]
            for n, t in ours_after.items()
        )

    for kind, who in ((KIND_KSWAPD, "kswapd"), (KIND_DIRECT, "direct")):
        for field, counter in (("scanned", "pgscan"), ("reclaimed", "pgsteal")):
            kernel = vm_after[f"{counter}_{who}"] - vm_before[f"{counter}_{who}"]
            mine = ours(kind, field)
            # Zero and zero on a quiet host; within 2% (and a batch) under pressure.
            assert abs(mine - kernel) <= 0.02 * kernel + 32, (who, field, mine, kernel)


@pytest.fixture
def memcg() -> Iterator[Path]:
    require(MEMCG_V1.is_dir(), "needs the cgroup v1 memory controller at /sys/fs/cgroup/memory")
    group = MEMCG_V1 / f"numascope-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(32 << 20))
        yield group
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                (group / "memory.force_empty").write_text("0")
                time.sleep(0.1)


def test_cgroup_limit_stalls_show_the_workloads_pid(
    source: LiveSource, memcg: Path, scratch_file: Path
) -> None:
    family = _family(source, ReclaimFamily)
    assert isinstance(family, ReclaimFamily)
    source.poll()
    totals_before = family.collector.node_totals()
    # The shell joins the cgroup and execs dd: same pid, so the stalls carry it.
    child = subprocess.Popen(
        [
            "sh",
            "-c",
            f"echo $$ > {memcg}/tasks && exec dd if={scratch_file} of=/dev/null bs=1M",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert child.wait() == 0
    snap = source.poll()
    totals_after = family.collector.node_totals()

    rows = [d for d in snap.direct_reclaim if d.pid == child.pid]
    assert rows, [(d.workload_key, d.workload_name, d.cause) for d in snap.direct_reclaim]
    stalls = sum(r.stalls.total for r in rows)
    reclaimed = sum(r.pages_reclaimed.total for r in rows)
    assert all(r.cause == "memcg" and r.workload_name == "dd" for r in rows)
    assert all(r.node in snap.node_ids for r in rows)
    assert stalls >= 1
    # 128 MiB read through a 32 MiB limit: at least 96 MiB of page cache reclaimed.
    assert reclaimed >= (96 << 20) // 4096 * 0.9, reclaimed
    for r in rows:
        h = r.stall_seconds
        assert h.count == r.stalls.total
        assert h.buckets[-1] == (float("inf"), h.count)
        assert all(a[1] <= b[1] for a, b in zip(h.buckets, h.buckets[1:], strict=False))
        assert h.sum_seconds > 0
    # The per-node shrink counts saw the same cgroup reclaim the stall ends report.
    lru = sum(
        t.reclaimed[KIND_MEMCG] - totals_before[n].reclaimed[KIND_MEMCG]
        for n, t in totals_after.items()
    )
    assert 0.9 * reclaimed <= lru <= reclaimed * 1.02 + 32, (lru, reclaimed)


def _copy_formats(dst: Path, drop: str) -> None:
    """A tracefs stand-in holding every `format` file but the one of `drop`."""
    for category in ("vmscan", "irq", "compaction", "kmem", "sched"):
        src = TRACEFS / "events" / category
        for event in os.listdir(src):
            fmt = src / event / "format"
            if f"{category}:{event}" == drop or not fmt.is_file():
                continue
            (dst / "events" / category / event).mkdir(parents=True)
            shutil.copyfile(fmt, dst / "events" / category / event / "format")


def test_a_missing_tracepoint_loses_only_its_own_probe(
    tmp_path: Path, scratch_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    require_root()
    _copy_formats(tmp_path, drop="vmscan:mm_vmscan_kswapd_wake")
    src = open_live_source(probes=("reclaim", "irq"), tracefs=tmp_path)
    try:
        err = capfd.readouterr().err
        lines = [line for line in err.splitlines() if "mm_vmscan_kswapd_wake" in line]
        assert len(lines) == 1 and "unavailable" in lines[0], err
        snap = src.poll()
        health = snap.health
        assert "vmscan:mm_vmscan_kswapd_wake" in health.probes_missing
        # Its pair goes with it (a sleep without its wake would time nothing)...
        assert "vmscan:mm_vmscan_kswapd_sleep" not in health.probes_attached
        # ...and everything else stays.
        for tp in (
            "vmscan:mm_vmscan_lru_shrink_inactive",
            "vmscan:mm_vmscan_direct_reclaim_begin",
            "irq:irq_handler_entry",
            "irq:softirq_entry",
        ):
            assert tp in health.probes_attached, tp
        direct_reads(scratch_file, 1024)
        after = src.poll()
        assert sum(sum(c.delta for c in i.count_by_node.values()) for i in after.irqs) >= 1000
        assert {r.node for r in after.reclaim} == set(after.node_ids)
    finally:
        src.close()


def test_a_family_without_any_tracepoint_leaves_the_others_running(
    scratch_file: Path,
) -> None:
    require_root()
    irq_tracepoints = (
        "irq:irq_handler_entry",
        "irq:irq_handler_exit",
        "irq:softirq_entry",
        "irq:softirq_exit",
    )
    src = open_live_source(probes=("reclaim", "irq"), absent=irq_tracepoints)
    try:
        assert "irq" in src.failed
        assert not any(isinstance(f, IrqFamily) for f in src.families)
        snap = src.poll()
        assert "irq (family)" in snap.health.probes_missing
        assert "vmscan:mm_vmscan_kswapd_wake" in snap.health.probes_attached
        assert snap.irqs == ()
        assert {r.node for r in snap.reclaim} == set(snap.node_ids)
    finally:
        src.close()
