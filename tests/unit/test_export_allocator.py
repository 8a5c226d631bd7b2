"""The exporter's allocator metrics: values, call-site names, bounded labels."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from numascope.exporters.call_sites import NO_STACK, call_site
from numascope.exporters.prometheus.allocator import SITE_LIMIT, SLAB_CACHE_LIMIT
from numascope.snapshot.sections import Count, HighOrderSite, SlabCache
from tests.fixtures import export_streams
from tests.promtools import DASHBOARD, promtool
from tests.unit.test_export_metrics import samples, scrape, scrape_stream


def test_page_lists_failures_and_compaction_follow_the_snapshot() -> None:
    text = scrape(export_streams.two_node(3))
    promtool("check", "metrics", stdin=text)
    assert samples(text, "numascope_page_list_allocated_pages_total")['{node="1"}'] == 1500
    locked = samples(text, "numascope_zone_locked_pages_total")
    assert locked['{node="1",path="refill"}'] == 1200
    assert locked['{node="1",path="direct"}'] == 150
    assert samples(text, "numascope_page_list_drained_pages_total")['{node="1"}'] == 600
    failed = samples(text, "numascope_failed_allocations_total")
    assert failed['{node="1",order="9+"}'] == 15 and failed['{node="0",order="1-3"}'] == 3
    assert samples(text, "numascope_kcompactd_wakeups_total")['{node="1"}'] == 6
    assert samples(text, "numascope_kernel_compact_stall_total")[""] == 12


def test_high_order_sites_are_labelled_by_the_caller_not_the_allocator() -> None:
    # Named at the first poll, a site's series counts what it adds from then on.
    text = scrape_stream([export_streams.two_node(1), export_streams.two_node(3)])
    pages = samples(text, "numascope_high_order_pages_total")
    key = '{node="1",order="9+",site="do_huge_pmd_anonymous_page",workload="membound"}'
    assert pages[key] == 2 * 5120
    kmalloc = '{node="0",order="4-8",site="kvmalloc_node",workload="polite"}'
    assert samples(text, "numascope_high_order_allocation_events_total")[kmalloc] == 6
    assert any('site="unknown",workload="kworker/u4:1"' in k for k in pages)


def test_slab_objects_split_by_requested_node() -> None:
    text = scrape_stream([export_streams.two_node(1), export_streams.two_node(2)])
    slab = samples(text, "numascope_slab_objects_total")
    row = '{cache="skbuff_head_cache",cpu_node="0",requested="remote"}'
    assert slab[row] == 100
    kmalloc = {k: v for k, v in slab.items() if 'cache="kmalloc-256"' in k}
    assert sum(kmalloc.values()) == 1000  # any + local + remote = objects
    everything = samples(text, "numascope_slab_objects_all_caches_total")
    assert everything['{cpu_node="0",requested="remote"}'] == 2 * 140


def _many(step: int, count: int) -> tuple[tuple[HighOrderSite, ...], tuple[SlabCache, ...]]:
    sites = tuple(
        HighOrderSite(
            f"pid:{100 + i}",
            f"worker-{i}",
            "4-8",
            i % 2,
            ("__alloc_pages", f"caller_{i}"),
            Count((i + 1) * step, i + 1),
            Count(16 * (i + 1) * step, 16 * (i + 1)),
            100 + i,
        )
        for i in range(count)
    )
    caches = tuple(
        SlabCache(f"cache-{i}", 0, Count((i + 1) * step, i + 1), Count((i + 1) * step, i + 1))
        for i in range(count)
    )
    return sites, caches


def test_call_site_and_slab_labels_stay_bounded_and_add_up() -> None:
    base = export_streams.two_node(1)
    assert base.allocator is not None
    stream = []
    for step in (1, 3):
        sites, caches = _many(step, 60)
        section = dataclasses.replace(base.allocator, high_order_sites=sites, slab_caches=caches)
        stream.append(dataclasses.replace(base, seq=step, allocator=section))
    text = scrape_stream(stream)
    promtool("check", "metrics", stdin=text)
    pages = samples(text, "numascope_high_order_pages_total")
    named = [k for k in pages if 'site="other"' not in k]
    # A named site has a series in every (order, node) cell seen, 0 where it has none.
    assert len({re.sub(r'node="\d",', "", k) for k in named}) == SITE_LIMIT
    assert {k for k in pages if 'site="other"' in k} == {
        '{node="0",order="4-8",site="other",workload="other"}',
        '{node="1",order="4-8",site="other",workload="other"}',
    }
    first, last = _many(1, 60)[0], _many(3, 60)[0]
    growth = sum(s.pages.total for s in last) - sum(s.pages.total for s in first)
    assert sum(pages.values()) == growth
    everything = samples(text, "numascope_high_order_pages_all_sites_total")
    assert sum(everything.values()) == sum(s.pages.total for s in last)
    # The biggest sites are the named ones.
    assert any('site="caller_59"' in k for k in named)
    assert not any('site="caller_0"' in k for k in named)
    slab = samples(text, "numascope_slab_objects_total")
    assert len({k.split(",")[0] for k in slab}) == SLAB_CACHE_LIMIT + 1
    assert sum(slab.values()) == 2 * sum(i + 1 for i in range(60))


def test_without_an_allocator_section_no_allocator_metric_is_served() -> None:
    text = scrape(dataclasses.replace(export_streams.two_node(1), allocator=None))
    assert "numascope_zone_locked_pages" not in text
    assert "numascope_high_order_pages" not in text


@pytest.mark.parametrize(
    ("frames", "site"),
    [
        (
            ("__alloc_pages", "vma_alloc_folio", "do_huge_pmd_anonymous_page"),
            "do_huge_pmd_anonymous_page",
        ),
        (
            ("__alloc_pages", "__kmalloc_large_node", "__kmalloc_node", "kvmalloc_node"),
            "__kmalloc_node",
        ),
        (("get_page_from_freelist", "__alloc_pages", "alloc_pages_mpol"), "alloc_pages_mpol"),
        (("perf_trace_mm_page_alloc", "__alloc_pages", "pcpu_alloc"), "pcpu_alloc"),
        (("new_slab", "___slab_alloc", "kmem_cache_alloc"), "kmem_cache_alloc"),
        (
            (
                "__alloc_frozen_pages_noprof",
                "alloc_pages_mpol",
                "vma_alloc_folio_noprof",
                "vma_alloc_anon_folio_pmd",
                "do_huge_pmd_anonymous_page",
            ),
            "do_huge_pmd_anonymous_page",
        ),
        ((), NO_STACK),
    ],
)
def test_call_site_is_the_first_frame_outside_the_allocator(
    frames: tuple[str, ...], site: str
) -> None:
    assert call_site(frames) == site


def test_dashboard_has_the_allocator_panels() -> None:
    board = json.loads(DASHBOARD.read_text())
    exprs = {p["title"]: " ".join(t["expr"] for t in p.get("targets", [])) for p in board["panels"]}
    zone = exprs["Zone-lock share per node (per-CPU page lists)"]
    assert "numascope_zone_locked_pages_total" in zone and "/" in zone
    orders = exprs["High-order allocations and failures by order and node"]
    assert "numascope_failed_allocations_total" in orders
    assert "numascope_node_order_pages_total" in orders
    assert "numascope_high_order_pages_total" in exprs["Top high-order call sites (pages/s)"]
    assert 'requested="remote"' in exprs["Slab remote share per cache (top 10)"]
