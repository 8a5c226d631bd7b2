"""`migratepages` in a two-node guest: the pages move, and numascope says how many,
why, from where to where, matching the kernel's pgmigrate_success.

The guest runs Debian's 6.1 kernel, whose mm_migrate_pages record lacks the
`large_folio_split` field the host's 6.18 has: the family is compiled without
it, and the test records the format it found.
"""

from __future__ import annotations

import mmap
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from numascope.collectors.kernel_counters import read_vmstat
from numascope.collectors.live import LiveSource
from numascope.probes.bcc_loader import TRACEFS
from numascope.snapshot.migration import MigrationRow
from tests.vm.guest.checks import RecordProperty
from tests.vm.guest.window import SETTLE_POLLS, agree
from tests.vm.guest.workloads import pages

pytestmark = pytest.mark.guest

MIB = 64
PAGES = pages(MIB)
FORMAT = TRACEFS / "events/migrate/mm_migrate_pages/format"

# Faults MIB MiB of anonymous memory in one call, prints its address, and holds
# it until stdin closes.
_HOLD = """
import ctypes, mmap, sys
size = int(sys.argv[1]) << 20
buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
address = ctypes.addressof(ctypes.c_char.from_buffer(buf))
print(f"ready {address:x}", flush=True)
sys.stdin.read()
"""


@contextmanager
def holding_on_node_0() -> Iterator[tuple[int, str]]:
    """(pid, hex address of its MIB MiB) of a process holding them on node 0."""
    argv = ["numactl", "--cpunodebind=0", "--membind=0", sys.executable, "-c", _HOLD, str(MIB)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().split()
    try:
        assert line[:1] == ["ready"], f"the holder did not start: {line}"
        yield proc.pid, line[1]
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)


def resident(pid: int, address: str) -> dict[int, int]:
    """Pages by node of the mapping at `address`, from the kernel's numa_maps."""
    for line in Path(f"/proc/{pid}/numa_maps").read_text().splitlines():
        if line.startswith(address + " "):
            size_kb = int(re.search(r"kernelpagesize_kB=(\d+)", line).group(1))  # type: ignore[union-attr]
            by_node = {int(n): int(p) for n, p in re.findall(r"\bN(\d+)=(\d+)", line)}
            return {n: p * size_kb * 1024 // mmap.PAGESIZE for n, p in by_node.items()}
    raise AssertionError(f"no mapping at {address} in /proc/{pid}/numa_maps")


def summed(rows: list[MigrationRow], field: str, node: int) -> float:
    return sum(c.delta for r in rows for n, c in getattr(r, field).items() if n == node)


@pytest.mark.topologies("two_node")
def test_migratepages_moves_residence_and_is_counted_by_reason_and_node(
    with_migrate_nodes: LiveSource, record_property: RecordProperty
) -> None:
    live = with_migrate_nodes
    family = live.family("migrate")
    assert family is not None, live.failed
    # The page hooks use page allocations' translation and run raw too.
    assert {"on_page_alloc_raw", "on_page_free_raw"} <= set(family.attached), family.attached
    record_property("mm_migrate_pages format", FORMAT.read_text().split("print fmt")[0])
    with holding_on_node_0() as (pid, address):
        before = resident(pid, address)
        assert before.get(0, 0) >= PAGES, before
        live.poll()
        kernel_before = read_vmstat()["pgmigrate_success"]
        subprocess.run(["migratepages", str(pid), "0", "1"], check=True, timeout=300)
        polls = [live.poll() for _ in range(SETTLE_POLLS)]
        kernel_grew = read_vmstat()["pgmigrate_success"] - kernel_before
        after = resident(pid, address)
    # Residence, read from numa_maps directly: the whole mapping is on node 1 now.
    assert after.get(1, 0) >= PAGES and after.get(0, 0) == 0, (before, after)
    rows = [r for s in polls if s.migrations is not None for r in s.migrations.rows]
    moved = [r for r in rows if r.reason == "syscall_or_cpuset" and r.succeeded.delta]
    assert moved and {r.name for r in moved} == {"migratepages"}, rows
    counted = sum(r.succeeded.delta for r in rows)
    same_poll = sum(
        s.migrations.host_kernel()["pgmigrate_success"].delta
        for s in polls
        if s.migrations is not None
    )
    migrated = sum(r.succeeded.delta for r in moved)
    lines = [
        agree("pages migrated / pgmigrate_success, same polls", counted, same_poll, PAGES),
        agree("pages migrated / pgmigrate_success, read around", counted, kernel_grew, PAGES),
        # Every page of the process that moved left node 0 and reached node 1.
        agree("sources on node 0 / migrated", int(summed(moved, "sources", 0)), migrated, PAGES),
        agree("targets on node 1 / migrated", int(summed(moved, "targets", 1)), migrated, PAGES),
    ]
    assert migrated >= PAGES, migrated
    assert summed(moved, "targets", 0) == 0 and summed(moved, "sources", 1) == 0
    for line in lines:
        record_property("check", line)
