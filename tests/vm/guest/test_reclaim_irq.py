"""Reclaim and interrupts in a two-node guest, held against the kernel's counters.

Filling node 1 past its low watermark wakes node 1's kswapd and not node 0's;
numascope's per-node pages scanned and reclaimed must add up to the kernel's
global pgscan/pgsteal counters, all of it on node 1. Moving the affinity of an
IRQ whose PCI device sits on node 1 (qemu: virtio-rng behind a pxb-pcie bridge
with numa_node=1, see /work/shared/FIELD_NOTES.md) to a node-0 CPU must yield a
remote-IRQ finding, and moving it back must clear it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from numascope.collectors.irq_info import pci_irq_devices, read_interrupts
from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.live import LiveSource
from numascope.config import Config
from numascope.policy import evaluate
from numascope.policy.irq import REMOTE_IRQ
from numascope.snapshot.model import Snapshot
from tests.conftest import require
from tests.vm.guest.window import measure
from tests.vm.guest.workloads import dd_touch, holding, pages
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

MIB = 1 << 20
TOUCH_MIB = 96
# The page cache numascope's reclaim of node 1 finds: files read under membind=1.
CACHE_SOURCES = ("/usr/lib/x86_64-linux-gnu", "/usr/share")


def _reclaim_delta(before: Snapshot, after: Snapshot, node: int, field: str) -> float:
    def total(s: Snapshot) -> float:
        row = next(r for r in s.reclaim if r.node == node)
        return float(getattr(row, field).total)

    return total(after) - total(before)


def _fill_page_cache_on(node: int, mib: int) -> None:
    """Read files under --membind so their cached pages sit on `node` (best effort)."""
    script = (
        f"find {' '.join(CACHE_SOURCES)} -type f -size +256k 2>/dev/null "
        f"| head -n 4000 | xargs -r cat 2>/dev/null | head -c {mib * MIB} > /dev/null"
    )
    subprocess.run(["numactl", f"--membind={node}", "sh", "-c", script], timeout=300)


@pytest.mark.topologies("two_node")
def test_filling_node_1_wakes_only_node_1s_kswapd(guest: GuestTopology, live: LiveSource) -> None:
    _fill_page_cache_on(1, 256)
    first = live.poll()
    watermark_high = next(r for r in first.reclaim if r.node == 1).watermark_high_bytes
    require(watermark_high > 0, "no watermarks read for node 1 from /proc/zoneinfo")
    vm_before = read_vmstat()
    # Leave node 1 just above its high watermark, then ask for more than that.
    with holding(1, 16 * MIB, cpu_node=0):
        window, done = measure(
            live,
            lambda: subprocess.run(
                dd_touch(TOUCH_MIB, "--cpunodebind=1", "--membind=1"),
                capture_output=True,
                text=True,
                timeout=300,
            ),
        )
    vm_after = read_vmstat()
    assert done.returncode == 0, done.stderr
    before, after = window.before, window.after

    assert _reclaim_delta(before, after, 1, "kswapd_wakeups") > 0
    assert _reclaim_delta(before, after, 0, "kswapd_wakeups") == 0
    scanned1 = _reclaim_delta(before, after, 1, "pages_scanned")
    reclaimed1 = _reclaim_delta(before, after, 1, "pages_reclaimed")
    assert _reclaim_delta(before, after, 0, "pages_reclaimed") <= 0.01 * pages(TOUCH_MIB)

    def kernel(counter: str) -> int:
        return sum(
            vm_after[f"{counter}_{who}"] - vm_before[f"{counter}_{who}"]
            for who in ("kswapd", "direct")
        )

    # The vmstat reads bracket the window a little wider than the polls: 1% slack.
    slack = 0.01 * pages(TOUCH_MIB) + 32
    assert abs(scanned1 - kernel("pgscan")) <= slack, (scanned1, kernel("pgscan"))
    assert abs(reclaimed1 - kernel("pgsteal")) <= slack, (reclaimed1, kernel("pgsteal"))
    assert reclaimed1 > 0, "kswapd woke but numascope saw no page reclaimed on node 1"

    # Direct reclaim, when the kernel says it happened, carries the workload's pid.
    if vm_after["pgscan_direct"] > vm_before["pgscan_direct"]:
        stalled = {d.pid for d in after.direct_reclaim if d.stalls.total and d.cause == "direct"}
        dd_rows = [d for d in after.direct_reclaim if d.workload_name == "dd"]
        assert dd_rows and all(d.pid in stalled for d in dd_rows), after.direct_reclaim


def _node1_irqs() -> list[int]:
    """IRQs of node-1 PCI devices that have a handler (in /proc/interrupts).

    An MSI device also lists its unused legacy INTx line (irq 11 in the guest),
    which has no handler, no counts and no affinity to set."""
    pci = pci_irq_devices()
    handled = read_interrupts()
    return sorted(
        irq
        for irq, dev in pci.items()
        if irq in handled
        and (dev / "numa_node").read_text().strip() == "1"
        and (dev / "msi_irqs").is_dir()
    )


def _set_affinity(irqs: list[int], cpu: int) -> None:
    for irq in irqs:
        Path(f"/proc/irq/{irq}/smp_affinity_list").write_text(f"{cpu}\n")


def _read_hwrng() -> None:
    with open("/dev/hwrng", "rb") as rng:
        for _ in range(400):
            rng.read(64)


@pytest.mark.topologies("two_node")
def test_irq_moved_off_its_devices_node_is_a_remote_irq(
    guest: GuestTopology, live: LiveSource
) -> None:
    irqs = _node1_irqs()
    require(
        bool(irqs) and os.path.exists("/dev/hwrng"),
        "needs a virtio-rng PCI device on node 1 (qemu pxb-pcie numa_node=1, FIELD_NOTES.md)",
    )
    config = Config.model_validate({"thresholds": {"irq": {"min-events": 20}}})
    node0_cpu, node1_cpu = guest.nodes[0].cpus[0], guest.nodes[1].cpus[0]
    try:
        _set_affinity(irqs, node0_cpu)
        kernel_before = read_interrupts()
        window, _ = measure(live, _read_hwrng)
        kernel_after = read_interrupts()
        fired = {i: kernel_after[i].total - kernel_before[i].total for i in irqs}
        busiest = max(fired, key=lambda i: fired[i])
        require(fired[busiest] >= 20, f"reading /dev/hwrng raised {fired} interrupts")
        row = next(i for i in window.after.irqs if i.irq == busiest)
        start = next((i for i in window.before.irqs if i.irq == busiest), None)
        ours = sum(c.total for c in row.count_by_node.values()) - (
            sum(c.total for c in start.count_by_node.values()) if start else 0
        )
        assert abs(ours - fired[busiest]) <= 0.02 * fired[busiest] + 2, (ours, fired)
        assert row.device_node == 1
        findings = [
            f
            for s in window.polls
            for f in evaluate(s, config)
            if f.kind == REMOTE_IRQ and f.workload_key == f"irq:{busiest}"
        ]
        assert findings, [i for i in window.after.irqs if i.irq == busiest]
        assert findings[0].evidence["device_node"] == 1

        _set_affinity(irqs, node1_cpu)
        window, _ = measure(live, _read_hwrng)
        again = [
            f
            for s in window.polls
            for f in evaluate(s, config)
            if f.kind == REMOTE_IRQ and f.workload_key == f"irq:{busiest}"
        ]
        assert not again, again
    finally:
        _set_affinity(irqs, node1_cpu)
