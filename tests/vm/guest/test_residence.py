"""Residence in the guest: numascope's pipeline against `numastat -p` per node.

A holder maps its memory under numactl (the options of each placement scenario
in test_placement.py) and stays alive while numascope's policy step reads its
numa_maps and `numastat -p PID` reads the same file its own way (it weighs
pages by the page size too, and prints MiB with two decimals). (c) maps 2 MiB
hugetlb pages reserved on node 1: 1 GiB pages cannot be reserved in a 1 GiB
node of this guest, so 2 MiB pages (x86's default huge page size) it is.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from numascope.collectors.live import LiveSource
from numascope.config import Config, PolicyHolder
from numascope.pipeline.policy_step import PolicyStep
from numascope.snapshot.residence import WorkloadResidence
from tests.vm.guest.checks import RecordProperty
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

MIB = 1 << 20
SIZE = 64 * MIB
AGREEMENT = 0.01
# numastat prints MiB with two decimals: half of 0.01 MiB either way.
ROUNDING = 0.005 * MIB
MAP_HUGETLB = 0x40000  # Linux x86-64; Python's mmap module does not name it
HUGE_2M = Path("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages")
POLLS = 10

# Maps argv[1] bytes (private, anonymous, populated: faulted in under the
# process's policy in one call), hugetlb pages if argv[2] is "huge", says
# "ready", and holds them until its stdin closes.
_HOLDER = f"""
import mmap, sys
size, huge = int(sys.argv[1]), sys.argv[2] == "huge"
flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE
buf = mmap.mmap(-1, size, flags=flags | ({MAP_HUGETLB} if huge else 0))
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def holder(numactl: list[str], size: int, huge: bool = False) -> Iterator[int]:
    """A process holding `size` bytes mapped under `numactl` options, while the block runs."""
    argv = ["numactl", *numactl, sys.executable, "-c", _HOLDER, str(size)]
    proc = subprocess.Popen(
        [*argv, "huge" if huge else "base"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"holder {argv} failed (status {proc.returncode}): {err}")
    try:
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)


def numastat_bytes(pid: int) -> dict[int, float]:
    """`numastat -p PID`'s Total row, per node, in bytes."""
    text = subprocess.run(
        ["numastat", "-p", str(pid)], capture_output=True, text=True, check=True
    ).stdout
    lines = text.splitlines()
    header = next(line for line in lines if line.split()[:1] == ["Node"])
    nodes = [int(w) for w in header.split() if w.isdigit()]
    total = next(line for line in reversed(lines) if line.startswith("Total"))
    values = [float(v) for v in total.split()[1:]]
    return {node: values[i] * MIB for i, node in enumerate(nodes)}


def residence_of(live: LiveSource, pid: int) -> WorkloadResidence:
    """The pid's residence as numascope's policy step gives it, polling until read."""
    step = PolicyStep(PolicyHolder(Config()), proc="/proc")
    # The read budget (32 processes and 4 ms a poll) is for a host of thousands of
    # processes; under software emulation one numa_maps read takes longer than 4 ms,
    # and the holder would wait behind every process of the guest. Lifted here: the
    # reads and the residence they give are what is under test, not the budget.
    step.engine.reads_per_poll, step.engine.read_seconds = 10_000, 60.0
    for _ in range(POLLS):
        section = step.apply(live.poll()).snapshot.residence
        assert section is not None
        row = next((r for r in section.processes if r.pid == pid), None)
        if row is not None:
            return row
        time.sleep(0.2)
    raise AssertionError(f"pid {pid} has no residence after {POLLS} polls")


def agree_with_numastat(
    live: LiveSource, pid: int, nodes: tuple[int, ...], record_property: RecordProperty
) -> dict[int, int]:
    """Per node, numascope's resident bytes against numastat's, within 1% of the larger
    of numastat's figure and the holder's size; returns numascope's bytes per node."""
    ours = residence_of(live, pid).resident.by_node()
    theirs = numastat_bytes(pid)
    lines = []
    for node in nodes:
        got, want = ours.get(node, 0), theirs.get(node, 0.0)
        allowed = AGREEMENT * max(want, SIZE) + ROUNDING
        line = f"node {node}: numascope {got} bytes, numastat -p {want:.0f}"
        lines.append(line)
        assert abs(got - want) <= allowed, f"{line}: differ by more than {allowed:.0f}"
    record_property("residence", "; ".join(lines))
    return ours


PLACEMENTS = {
    "membind_remote": (["--cpunodebind=0", "--membind=1"], 1),
    "membind_local": (["--cpunodebind=0", "--membind=0"], 0),
    "interleave_all": (["--cpunodebind=0", "--interleave=all"], None),
    "preferred": (["--cpunodebind=1", "--preferred=1"], 1),
}


@pytest.mark.topologies("two_node", "three_node")
@pytest.mark.parametrize("scenario", sorted(PLACEMENTS))
def test_residence_agrees_with_numastat_per_placement(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty, scenario: str
) -> None:
    numactl, node = PLACEMENTS[scenario]
    with holder(numactl, SIZE) as pid:
        ours = agree_with_numastat(live, pid, guest.node_ids, record_property)
    if node is not None:
        assert ours.get(node, 0) >= SIZE, f"{scenario}: {ours}"
    else:
        even = SIZE / len(guest.node_ids)
        for n in guest.node_ids:
            assert ours.get(n, 0) >= 0.9 * even, f"{scenario}: node {n} holds {ours}"


@pytest.mark.topologies("three_node")
def test_residence_on_the_cpuless_node_agrees_with_numastat(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty
) -> None:
    (cxl,) = guest.cpuless_nodes
    with holder(["--cpunodebind=0", f"--membind={cxl}"], SIZE) as pid:
        ours = agree_with_numastat(live, pid, guest.node_ids, record_property)
    assert ours.get(cxl, 0) >= SIZE, ours


@contextmanager
def reserved_huge_pages(count: int) -> Iterator[None]:
    """`count` 2 MiB hugetlb pages reserved on node 1, the pool restored afterwards
    (other guest tests share the boot)."""
    before = HUGE_2M.read_text().strip()
    HUGE_2M.write_text(f"{count}\n")
    try:
        got = int(HUGE_2M.read_text())
        assert got >= count, f"node 1 reserved {got} of {count} 2 MiB pages"
        yield
    finally:
        HUGE_2M.write_text(f"{before}\n")


@pytest.mark.topologies("two_node")
def test_hugetlb_residence_counts_bytes_as_numastat_does(
    live: LiveSource, guest: GuestTopology, record_property: RecordProperty
) -> None:
    pages = SIZE // (2 * MIB)
    with reserved_huge_pages(pages), holder(["--membind=1"], SIZE, huge=True) as pid:
        maps = Path(f"/proc/{pid}/numa_maps").read_text().splitlines()
        huge = [line.split() for line in maps if " huge " in line]
        assert any(
            f"N1={pages}" in words and "kernelpagesize_kB=2048" in words for words in huge
        ), maps
        ours = agree_with_numastat(live, pid, guest.node_ids, record_property)
        row = residence_of(live, pid)
    assert ours.get(1, 0) >= SIZE, ours
    # The hugetlb mapping is private and anonymous: all of it anon, on node 1.
    assert row.resident.anon.get(1, 0) >= SIZE, row.resident
