"""Samples for the allocator section: per-CPU page lists, high orders, compaction, slab.

Only counters: a zone-lock share or a slab remote share is a ratio of two rates,
which PromQL (and the recording rules) compute over any window, where a gauge
of the last interval's share would depend on the exporter's poll interval.

Label values from names stay bounded: at most SITE_LIMIT call-site label sets
(order, node, site, workload) and SLAB_CACHE_LIMIT caches get series of their
own, ranked by running totals; the rest are summed under "other", so sums over
a metric still equal what the snapshot holds.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from numascope.exporters.call_sites import call_site
from numascope.exporters.prometheus.budget import OTHER
from numascope.exporters.prometheus.catalogue import METRICS
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.snapshot.sections import AllocatorSection, HighOrderSite, SlabCache

if TYPE_CHECKING:
    from numascope.exporters.prometheus.families import Samples

SITE_LIMIT = 10
SLAB_CACHE_LIMIT = 20
KERNEL_PREFIX = "numascope_kernel_"

SiteLabels = tuple[str, str, str, str]


def allocator_samples(s: Samples, section: AllocatorSection | None) -> None:
    """Add the allocator section's samples (nothing when the section is absent)."""
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
    _sites(s, section.high_order_sites)
    _slab(s, section.slab_caches)


def site_labels(site: HighOrderSite) -> SiteLabels:
    return (
        site.order_class,
        node_label(site.node),
        label_value(call_site(site.frames)),
        label_value(site.workload_name),
    )


def _sites(s: Samples, sites: tuple[HighOrderSite, ...]) -> None:
    pages: dict[SiteLabels, float] = defaultdict(float)
    events: dict[SiteLabels, float] = defaultdict(float)
    for site in sites:
        labels = site_labels(site)
        pages[labels] += site.pages.total
        events[labels] += site.events.total
    ranked = sorted(pages, key=lambda k: (pages[k], k), reverse=True)
    named = set(ranked[:SITE_LIMIT])
    for labels in ranked:
        out = labels if labels in named else (labels[0], labels[1], OTHER, OTHER)
        s.add("numascope_high_order_pages", out, pages[labels])
        s.add("numascope_high_order_allocation_events", out, events[labels])


def _slab(s: Samples, caches: tuple[SlabCache, ...]) -> None:
    objects: dict[str, float] = defaultdict(float)
    for c in caches:
        objects[c.cache] += c.objects.total
    ranked = sorted(objects, key=lambda name: (objects[name], name), reverse=True)
    named = set(ranked[:SLAB_CACHE_LIMIT])
    for c in caches:
        cache = label_value(c.cache) if c.cache in named else OTHER
        cpu_node = node_label(c.cpu_node)
        for requested, count in (
            ("any", c.any_node),
            ("local", c.local_requested),
            ("remote", c.remote_requested),
        ):
            s.add("numascope_slab_objects", (cache, cpu_node, requested), count.total)
