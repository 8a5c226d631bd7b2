"""Allocator collector arithmetic over maps with bcc's interface (no kernel)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from numascope.collectors.allocator import AllocatorCollector
from numascope.probes.page_alloc import PageAllocLayout

LAYOUT = PageAllocLayout(node_ids=(0, 1))  # node slots: 0, 1, unknown 2


def pcp(refill: list[int], direct: list[int], drained: list[int]) -> Any:
    return SimpleNamespace(
        refill_pages=refill, direct_pages=direct, direct_events=direct, drained_pages=drained
    )


class Stacks:
    def walk(self, stack_id: int) -> list[int]:
        return [0x10, 0x20] if stack_id == 7 else []


class PageTables(dict[str, Any]):
    def ksym(self, address: int, show_offset: bool = False) -> bytes:
        return {0x10: b"__alloc_pages", 0x20: b"do_huge_pmd_anonymous_page"}[address]


class Sites:
    """The `sites` hash: bcc yields (key, value) struct pairs."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[Any, Any]]:
        return self.pairs


def tables(cpu_pages: list[list[int]], sites: Sites) -> tuple[dict[str, Any], PageTables]:
    allocator = {
        "pcp": [[pcp([10, 0, 0], [2, 0, 0], [0, 0, 0]), pcp([90, 5, 0], [0, 0, 0], [40, 0, 0])]],
        "kcompactd_wakes": [[1, 2], [0, 3]],  # per nid: per-CPU values
    }
    page = PageTables(
        cpu_state=[
            [
                SimpleNamespace(cpu_pages=cpu_pages[0], failed=[0, 1, 0, 2]),
                SimpleNamespace(cpu_pages=cpu_pages[1], failed=[0, 0, 0, 0]),
            ]
        ],
        sites=sites,
        site_stacks=Stacks(),
    )
    return allocator, page


def test_zone_lock_share_per_node_and_cpu() -> None:
    allocator, page = tables([[100, 0, 0], [100, 50, 0]], Sites([]))
    c = AllocatorCollector(allocator, page, LAYOUT, {0: 0, 1: 1}, max_nid=2)
    section = c.read()
    node0 = section.page_cache[0]
    assert node0.alloc_pages.total == 200
    assert node0.refill_pages.total == 100 and node0.direct_pages.total == 2
    assert abs(node0.zone_lock_share - 102 / 200) < 1e-9
    cpu0, cpu1 = section.page_cache_cpus
    assert cpu0.zone_locked_pages.total == 12 and abs(cpu0.zone_lock_share - 0.12) < 1e-9
    assert cpu1.drained_pages.total == 40 and cpu1.node == 1
    assert section.nodes[0].failed_by_order["9+"].total == 2
    assert section.nodes[0].kcompactd_wakes.total == 3  # 1 + 2 over CPUs, nid 0
    assert section.nodes[1].kcompactd_wakes.total == 3


def test_deltas_between_reads() -> None:
    allocator, page = tables([[100, 0, 0], [0, 0, 0]], Sites([]))
    c = AllocatorCollector(allocator, page, LAYOUT, {0: 0, 1: 1}, max_nid=2)
    c.read()
    page["cpu_state"][0][0].cpu_pages = [150, 0, 0]
    second = c.read()
    assert second.page_cache[0].alloc_pages.delta == 50
    assert second.page_cache[0].refill_pages.delta == 0
    assert second.page_cache[0].zone_lock_share == 0.0


def test_high_order_sites_are_ranked_and_resolved() -> None:
    site_key = SimpleNamespace(stack_id=7, tgid=42, order_class=3, page_slot=1)
    small_key = SimpleNamespace(stack_id=-14, tgid=0, order_class=2, page_slot=0)
    sites = Sites(
        [
            (small_key, SimpleNamespace(comm=b"kworker\0", events=1, pages=16)),
            (site_key, SimpleNamespace(comm=b"thp\0", events=4, pages=2048)),
        ]
    )
    allocator, page = tables([[0, 0, 0], [0, 0, 0]], sites)
    section = AllocatorCollector(allocator, page, LAYOUT, {0: 0, 1: 1}, max_nid=2).read()
    first, second = section.high_order_sites
    assert first.workload_key == "pid:42" and first.workload_name == "thp"
    assert first.order_class == "9+" and first.node == 1
    assert first.frames == ("__alloc_pages", "do_huge_pmd_anonymous_page")
    assert first.pages.total == 2048
    assert second.workload_key == "kernel" and second.frames == ()


def test_without_the_page_allocation_probe() -> None:
    allocator, _ = tables([[0, 0, 0], [0, 0, 0]], Sites([]))
    section = AllocatorCollector(allocator, None, LAYOUT, {0: 0, 1: 1}, max_nid=2).read()
    assert section.high_order_sites == ()
    assert section.page_cache[0].refill_pages.total == 100
    assert section.page_cache[0].zone_lock_share == 0.0
