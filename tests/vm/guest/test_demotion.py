"""Demotion to a lower memory tier, seen by numascope and held against the kernel.

The `tiered` guest boots with 512 MiB reserved as a legacy pmem region
(memmap=512M!768M). Here it is onlined through dax/kmem (`ndctl create-namespace
-m devdax`, `daxctl reconfigure-device --mode=system-ram`): the kernel makes it
a CPU-less node in a lower tier (memory_tier22; DRAM is memory_tier4). With
demotion_enabled, a process bound to node 0 that asks for more than node 0 has
makes reclaim demote node 0's coldest pages to that node instead of failing.
numascope's balancing section must show the tiers, the switch, and the
demotions as /proc/vmstat counts them (6.1 has no per-node demotion counters),
within 1%; the filler's residence on the lower tier, as numascope reads its
numa_maps, must match `numastat -p` within 1%.

The lower tier's own meminfo is a second, looser witness: every demoted page
lands there, but demoted pages can leave again (page cache freed or reclaimed
on that node), other allocations fall back to it while node 0 is full, and
pages on per-CPU lists count as used; so its growth is held within 5% of the
demotions. Two runs measured 32,451 pages arrived for 32,929 demoted, and
42,075 for 41,562.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.kernel_source import KernelCounterSource
from numascope.collectors.memory_tiers import read_tiers
from numascope.collectors.mempolicy import read_process_policy
from numascope.topology import read_topology
from tests.conftest import require, require_root
from tests.vm.guest.checks import RecordProperty
from tests.vm.guest.test_residence import numastat_bytes
from tests.vm.guest.window import agree
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

PAGE = 4096
NODES = Path("/sys/devices/system/node")
DEMOTION = Path("/sys/kernel/mm/numa/demotion_enabled")
# Pages asked for beyond what node 0 has free: reclaim must find them.
EXTRA_MIB = 96
# How far the lower tier's meminfo growth may stray from the demotions (see above).
WITNESS_SLACK = 0.05
SETUP = (
    ["modprobe", "-a", "nd_e820", "dax_pmem", "kmem"],
    ["ndctl", "create-namespace", "-f", "-e", "namespace0.0", "-m", "devdax", "--map=mem"],
    ["daxctl", "reconfigure-device", "--mode=system-ram", "dax0.0"],
)

# Binds itself to node 0 (numactl), faults in argv[1] bytes, says "done", waits.
_FILLER = """
import mmap, sys
size = int(sys.argv[1])
buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
view = memoryview(buf)
for off in range(0, size, mmap.PAGESIZE):
    view[off] = 1
print("done", flush=True)
sys.stdin.read()
"""


def _lower_tier_node() -> int | None:
    """The node in the slowest tier, when there are two tiers or more."""
    tiers = read_tiers()
    if len(set(tiers.values())) < 2:
        return None
    return max(tiers, key=lambda n: (tiers[n], n))


@pytest.fixture(scope="module")
def lower_tier() -> int:
    """Online the pmem region as a lower-tier node (once per boot); its node id."""
    require_root()
    node = _lower_tier_node()
    if node is None:
        for argv in SETUP:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            require(done.returncode == 0, f"{' '.join(argv)} failed: {done.stderr.strip()}")
        node = _lower_tier_node()
    require(node is not None, "onlining the pmem region made no lower memory tier")
    assert node is not None
    return node


def _demoted() -> int:
    """Pages demoted on the whole host (/proc/vmstat: 6.1 counts them only there)."""
    return sum(v for k, v in read_vmstat().items() if k.startswith("pgdemote_"))


def _demoted_in(totals: Mapping[str, int]) -> int:
    return sum(v for k, v in totals.items() if k.startswith("pgdemote_"))


def _meminfo_kib(node: int) -> dict[str, int]:
    """nodeN/meminfo as {"MemFree": kB, ...} ("Node 2 MemFree:  393216 kB" lines)."""
    out = {}
    for line in (NODES / f"node{node}" / "meminfo").read_text().splitlines():
        words = line.split()
        if len(words) >= 4:
            out[words[2].rstrip(":")] = int(words[3])
    return out


def _used_pages(node: int) -> int:
    kib = _meminfo_kib(node)
    return (kib["MemTotal"] - kib["MemFree"]) * 1024 // PAGE


def _free_bytes(node: int) -> int:
    return _meminfo_kib(node)["MemFree"] * 1024


def _settle(seconds: float = 30) -> None:
    """Wait until kswapd stops demoting (it goes on after the filler is done)."""
    deadline = time.monotonic() + seconds
    last = _demoted()
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _demoted()
        if now == last:
            return
        last = now


@pytest.fixture
def demotion_on() -> Iterator[None]:
    before = DEMOTION.read_text().strip()
    DEMOTION.write_text("true")
    try:
        yield
    finally:
        DEMOTION.write_text(before)


@pytest.mark.topologies("tiered")
def test_reclaim_demotes_to_the_lower_tier(
    guest: GuestTopology, lower_tier: int, demotion_on: None, record_property: RecordProperty
) -> None:
    topology = read_topology()
    source = KernelCounterSource(topology)
    first = source.poll().balancing
    assert first is not None and first.demotion_enabled is True
    tiers = {t.node: t for t in first.tiers}
    assert tiers[lower_tier].cpuless, "the pmem node has no CPU"
    assert (tiers[lower_tier].tier or 0) > (tiers[0].tier or 0), first.tiers
    demoted_before, used_before = _demoted(), _used_pages(lower_tier)
    size = _free_bytes(0) + (EXTRA_MIB << 20)
    child = subprocess.Popen(
        ["numactl", "--cpunodebind=0", "--membind=0", sys.executable, "-c", _FILLER, str(size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "done", "the filler did not finish"
        _settle()
        section = source.poll().balancing
        kernel = _demoted() - demoted_before
        arrived = _used_pages(lower_tier) - used_before
        policy = read_process_policy(child.pid)
        theirs = numastat_bytes(child.pid).get(lower_tier, 0.0)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    assert section is not None
    ours = _demoted_in(section.host.total) - _demoted_in(first.host.total)
    record_property(
        "demotion",
        f"tiers {[(t.node, t.tier, t.cpuless) for t in section.tiers]}; demoted {kernel} "
        f"pages (numascope {ours}); node {lower_tier} gained {arrived} pages",
    )
    assert kernel >= (EXTRA_MIB << 20) // PAGE // 2, f"reclaim demoted only {kernel} pages"
    assert policy is not None, "the filler's numa_maps could not be read"
    resident = policy.residence.by_node().get(lower_tier, 0)
    # numastat -p prints MiB with two decimals (half of 0.01 MiB either way, about one
    # page): well inside 1% of the tens of thousands of pages compared here.
    lines = [
        agree("pgdemote_*, numascope / /proc/vmstat", ours, kernel, kernel),
        agree(
            f"filler's pages on node {lower_tier}, numascope / numastat -p",
            round(resident / PAGE),
            round(theirs / PAGE),
            round(theirs / PAGE),
        ),
    ]
    assert resident > 0, f"none of the filler's pages on node {lower_tier}"
    witness = f"node {lower_tier} meminfo gained {arrived} pages for {kernel} demoted"
    assert abs(arrived - kernel) <= WITNESS_SLACK * kernel, witness
    record_property("kernel", "; ".join([*lines, witness]))
