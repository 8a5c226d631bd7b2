from __future__ import annotations

from pathlib import Path

import pytest

from numascope.errors import NumascopeError
from numascope.topology import parse_list, read_topology

SYSFS = Path(__file__).parent.parent / "fixtures" / "sysfs"
GIB_PAGES = (1 << 30) // 4096


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", ()), ("0", (0,)), ("0-3", (0, 1, 2, 3)), ("0-1,4,6-7", (0, 1, 4, 6, 7)), ("5\n", (5,))],
)
def test_parse_list(text: str, expected: tuple[int, ...]) -> None:
    assert parse_list(text) == expected


def test_parse_list_rejects_garbage() -> None:
    with pytest.raises(NumascopeError, match="not a kernel list"):
        parse_list("0-x")


def test_one_node_machine() -> None:
    topo = read_topology(SYSFS / "one-node")
    assert topo.node_ids == (0,)
    assert topo.node(0).cpus == (0, 1)
    assert topo.distance(0, 0) == 10
    assert topo.block_size_bytes == 128 << 20
    # Blocks 0-7 and 32-191: two runs with a hole between them.
    pages = (128 << 20) // 4096
    assert [(r.start, r.end) for r in topo.pfn_ranges] == [
        (0, 8 * pages),
        (32 * pages, 192 * pages),
    ]
    assert topo.node_of_pfn(0) == 0
    assert topo.node_of_pfn(10 * pages) is None  # in the hole
    assert topo.node(0).mem_total_bytes == 5728460 * 1024
    assert not topo.node(0).cpuless


def test_two_node_server() -> None:
    topo = read_topology(SYSFS / "two-node")
    assert topo.node_ids == (0, 1)
    assert topo.node(1).cpus[:3] == (8, 9, 10)
    assert topo.node_of_cpu(24) == 1
    assert topo.node_of_cpu(16) == 0
    assert topo.distance(0, 1) == 21
    assert topo.node_of_pfn(16 * GIB_PAGES - 1) == 0
    assert topo.node_of_pfn(16 * GIB_PAGES) == 1
    assert topo.node_of_pfn(32 * GIB_PAGES) is None


def test_four_node_with_interleaved_blocks() -> None:
    topo = read_topology(SYSFS / "four-node")
    assert topo.possible == tuple(range(8))
    assert topo.online == (0, 1, 2, 3)
    assert topo.node_of_pfn(7 * GIB_PAGES) == 2
    assert topo.node_of_pfn(8 * GIB_PAGES) == 1
    assert topo.node_of_pfn(9 * GIB_PAGES) == 2
    assert topo.distance(0, 3) == 22
    assert len(topo.pfn_ranges) == 6


def test_cpuless_node() -> None:
    topo = read_topology(SYSFS / "cpuless")
    assert topo.node(2).cpuless
    assert not topo.node(0).cpuless
    assert topo.distance(2, 0) == 40
    assert topo.node_of_pfn(12 * 32768) == 2
    assert topo.cpu_node == {0: 0, 1: 1}


def test_no_numa_in_sysfs_is_one_node(tmp_path: Path) -> None:
    (tmp_path / "devices/system/cpu").mkdir(parents=True)
    (tmp_path / "devices/system/cpu/online").write_text("0-3\n")
    topo = read_topology(tmp_path)
    assert topo.node_ids == (0,)
    assert topo.node(0).cpus == (0, 1, 2, 3)


def test_real_sysfs_reads() -> None:
    topo = read_topology("/sys")
    assert topo.node_ids
    assert all(topo.node_of_cpu(c) in topo.node_ids for c in topo.cpu_node)
