"""Pure parts of the reclaim and IRQ families: histograms, counts, sysfs/procfs readers."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from numascope.collectors.counts import CountTracker
from numascope.collectors.histogram import add_slots, bucket_bounds, log2_histogram
from numascope.collectors.irq_info import (
    parse_interrupts,
    pci_irq_devices,
    read_interrupts,
    read_irq_info,
)
from numascope.collectors.node_memory import (
    parse_node_meminfo,
    parse_zoneinfo_watermarks,
    read_node_memory,
)
from numascope.collectors.probe_families import parse_probe_list
from numascope.errors import NumascopeError
from numascope.snapshot.sections import Count

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reclaim-irq"
PROC = FIXTURES / "proc"
SYS = FIXTURES / "sys"


def test_log2_slots_become_cumulative_seconds_buckets_with_empty_ones_filled() -> None:
    # Slot i holds stalls below 2^i us: slot 0 (< 1 us), slot 3 (< 8 us), slot 5 (< 32 us).
    h = log2_histogram([1, 0, 0, 2, 0, 4], unit_seconds=1e-6, sum_seconds=0.5)
    assert [b for b, _ in h.buckets[:-1]] == pytest.approx([1e-6, 2e-6, 4e-6, 8e-6, 16e-6])
    assert math.isinf(h.buckets[-1][0])
    assert [n for _, n in h.buckets] == [1, 1, 1, 3, 3, 7]
    assert h.count == 7
    assert h.sum_seconds == 0.5


def test_every_slot_is_a_bucket_so_the_series_keeps_its_shape() -> None:
    empty = log2_histogram([0] * 27, 1e-6, 0.0)
    assert len(empty.buckets) == 27
    assert all(n == 0 for _, n in empty.buckets)
    assert log2_histogram([], 1e-6, 0.0).buckets == ()
    assert bucket_bounds(3, 1.0) == (1.0, 2.0, float("inf"))


def test_add_slots_pads_the_shorter_side() -> None:
    assert add_slots([], [1, 2]) == [1, 2]
    assert add_slots([1, 2, 3], [1]) == [2, 2, 3]


def test_counts_give_interval_deltas_and_never_fall() -> None:
    tracker = CountTracker()
    assert tracker.count("a", 10) == Count(total=10, delta=10)  # first sight: all of it
    assert tracker.count("a", 15) == Count(total=15, delta=5)
    # A reading that lags the previous one (counts in flight) keeps the total.
    assert tracker.count("a", 14) == Count(total=15, delta=0)
    assert tracker.count("b", 0) == Count(total=0, delta=0)
    tracker.forget("a")
    assert tracker.count("a", 3) == Count(total=3, delta=3)


def test_node_meminfo_in_bytes() -> None:
    info = parse_node_meminfo("Node 1 MemFree:  400 kB\nNode 1 HugePages_Total:     3\nodd\n")
    assert info == {"MemFree": 400 * 1024, "HugePages_Total": 3}


def test_zoneinfo_watermarks_are_summed_per_node_and_pageset_high_is_ignored() -> None:
    marks = parse_zoneinfo_watermarks((PROC / "zoneinfo").read_text())
    assert marks == {0: (45 + 7731, 56 + 9663, 67 + 11595), 1: (1000, 1250, 1500)}


def test_read_node_memory_from_a_fixture_tree() -> None:
    mem = read_node_memory((0, 1, 7), sysfs=SYS, proc=PROC, page_size=4096)
    assert mem[1].free_bytes == 400 * 1024
    assert mem[1].file_bytes == 250000 * 1024
    assert mem[1].anon_bytes == 700000 * 1024
    assert mem[1].watermark_low_bytes == 1250 * 4096
    assert mem[0].watermark_high_bytes == (67 + 11595) * 4096
    assert mem[7].free_bytes == 0  # a node with no files reads as zeros, not an error


def test_proc_interrupts_numbered_rows_only() -> None:
    lines = read_interrupts(PROC)
    assert sorted(lines) == [24, 36, 45, 50]
    assert lines[36].per_cpu == (0, 92940, 0, 5)
    assert lines[36].total == 92945
    assert lines[50].description.endswith("uhci_hcd:usb1, ehci_hcd:usb2")
    assert parse_interrupts("") == {}


def test_pci_devices_own_their_msi_vectors_and_legacy_lines() -> None:
    pci = pci_irq_devices(SYS)
    assert pci[36].name == "0000:00:02.0"
    assert pci[45].name == "0000:0b:00.0"
    assert pci[50].name == "0000:00:1d.0"
    assert 0 not in pci


def test_irq_info_takes_the_pci_devices_node() -> None:
    pci = pci_irq_devices(SYS)
    info = read_irq_info(45, proc=PROC, sysfs=SYS, pci=pci)
    assert (info.name, info.device_node, info.affinity) == ("virtio5-virtqueues", 1, (0,))
    assert info.device == "0000:0b:00.0"
    # A PCI device without a known node stays unknown, whatever /proc/irq/N/node says.
    assert read_irq_info(36, proc=PROC, sysfs=SYS, pci=pci).device_node == -1


def test_irq_info_shared_line_and_fallbacks() -> None:
    shared = read_irq_info(50, proc=PROC, sysfs=SYS, pci=pci_irq_devices(SYS))
    assert shared.handlers == 2
    assert shared.name == "uhci_hcd:usb1,ehci_hcd:usb2"
    # No PCI device: /proc/irq/N/node; no actions file: the /proc/interrupts name.
    acpi = read_irq_info(24, proc=PROC, sysfs=SYS, pci={}, description="IO-APIC 5-edge ACPI:Ged")
    assert (acpi.name, acpi.device_node, acpi.affinity) == ("ACPI:Ged", 0, ())
    gone = read_irq_info(99, proc=PROC, sysfs=SYS, pci={})
    assert (gone.name, gone.device_node, gone.handlers) == ("irq99", -1, 1)


def test_probe_list() -> None:
    assert parse_probe_list("reclaim, irq,reclaim") == ("reclaim", "irq")
    with pytest.raises(NumascopeError, match="unknown probe family bogus"):
        parse_probe_list("page_alloc,bogus")
    with pytest.raises(NumascopeError, match="none given"):
        parse_probe_list(",")


@pytest.mark.parametrize("page_size", [16384, 65536])
def test_watermarks_are_in_the_running_kernels_pages(
    page_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zoneinfo counts in pages of the kernel: 16 KiB and 64 KiB on some arm64 and ppc64.
    real = os.sysconf
    monkeypatch.setattr(
        os, "sysconf", lambda name: page_size if name == "SC_PAGE_SIZE" else real(name)
    )
    mem = read_node_memory((0, 1), sysfs=SYS, proc=PROC)
    assert mem[1].watermark_low_bytes == 1250 * page_size
    assert mem[0].watermark_min_bytes == (45 + 7731) * page_size
    assert mem[1].free_bytes == 400 * 1024, "meminfo is in kB whatever the page size"


def test_a_fixture_of_another_kernel_gives_its_page_size() -> None:
    mem = read_node_memory((1,), sysfs=SYS, proc=PROC, page_size=65536)
    assert mem[1].watermark_high_bytes == 1500 * 65536
