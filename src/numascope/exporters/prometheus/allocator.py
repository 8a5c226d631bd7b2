"""Samples for the allocator section: per-CPU page lists, high orders, compaction, slab.

Only counters: a zone-lock share or a slab remote share is a ratio of two rates,
which PromQL (and the recording rules) compute over any window, where a gauge
of the last interval's share would depend on the exporter's poll interval.

Label values from names stay bounded: at most SITE_LIMIT call sites (site,
workload) and SLAB_CACHE_LIMIT caches get series of their own, ranked by
running totals and kept while they last; the rest are folded into "other".
Their values come from the budgeted ledgers (budgeted.py): they add up, over
any window, to the `_all_sites` and `_all_caches` counters beside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from numascope.exporters.call_sites import call_site
from numascope.exporters.prometheus.budgeted import (
    OTHER_LABELS,
    SITE_LIMIT,
    SLAB_CACHE_LIMIT,
    Exposure,
    FamilySeries,
)
from numascope.exporters.prometheus.catalogue import METRICS
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.snapshot.sections import AllocatorSection, HighOrderSite, SlabCache

if TYPE_CHECKING:
    from numascope.exporters.prometheus.families import Samples

__all__ = ["SITE_LIMIT", "SLAB_CACHE_LIMIT", "allocator_samples", "site_labels"]
KERNEL_PREFIX = "numascope_kernel_"

SiteLabels = tuple[str, str, str, str]


def allocator_samples(s: Samples, section: AllocatorSection | None, exposure: Exposure) -> None:
    """Add the allocator section's samples (nothing when the section is absent);
    call sites and slab caches as `exposure` holds them."""
    if section is None:
        return
    for p in section.page_cache:
        node = node_label(p.node)
        s.add("numascope_page_list_allocated_pages", (node,), p.alloc_pages.total)
        s.add("numascope_zone_locked_pages", (node, "refill"), p.refill_pages.total)
        s.add("numascope_zone_locked_pages", (node, "direct"), p.direct_pages.total)
        s.add("numascope_page_list_drained_pages", (node,), p.drained_pages.total)
    for n in section.nodes:
        node = node_label(n.node)
        for order, count in n.failed_by_order.items():
            s.add("numascope_failed_allocations", (node, order), count.total)
        s.add("numascope_kcompactd_wakeups", (node,), n.kcompactd_wakes.total)
    for key, count in section.compaction.items():
        name = KERNEL_PREFIX + key
        if name in METRICS:
            s.add(name, (), count.total)
    if exposure.sites is not None:
        _sites(s, section.high_order_sites, exposure.sites)
    if exposure.slab is not None:
        _slab(s, section.slab_caches, exposure.slab)


def site_labels(site: HighOrderSite) -> SiteLabels:
    return (
        site.order_class,
        node_label(site.node),
        label_value(call_site(site.frames)),
        label_value(site.workload_name),
    )


def _sites(s: Samples, sites: tuple[HighOrderSite, ...], series: FamilySeries) -> None:
    # The host-level sums first: what the budgeted series add up to.
    for site in sites:
        cell = (site.order_class, node_label(site.node))
        s.add("numascope_high_order_pages_all_sites", cell, site.pages.total)
        s.add("numascope_high_order_allocation_events_all_sites", cell, site.events.total)
    metric = {
        "pages": "numascope_high_order_pages",
        "events": "numascope_high_order_allocation_events",
    }
    # The ledger's columns are (order class, node, "pages" or "events").
    columns = cast(tuple[tuple[str, str, str], ...], series.view.columns)
    for labels, values in series.rows(OTHER_LABELS["sites"]):
        for (order, node, what), value in zip(columns, values.tolist(), strict=True):
            s.add(metric[what], (order, node, *labels), value)


def _slab(s: Samples, caches: tuple[SlabCache, ...], series: FamilySeries) -> None:
    for c in caches:
        cpu_node = node_label(c.cpu_node)
        for requested, count in (
            ("any", c.any_node),
            ("local", c.local_requested),
            ("remote", c.remote_requested),
        ):
            s.add("numascope_slab_objects_all_caches", (cpu_node, requested), count.total)
    columns = cast(tuple[tuple[str, str], ...], series.view.columns)  # (cpu node, requested)
    for (cache,), values in series.rows(OTHER_LABELS["slab"]):
        for (cpu_node, requested), value in zip(columns, values.tolist(), strict=True):
            s.add("numascope_slab_objects", (cache, cpu_node, requested), value)
