"""The allocator probe: per-CPU page caches (hits, refills, drains) and kcompactd.

What it measures (kept next to the C in allocator.bpf.c):
  kmem:mm_page_alloc_zone_locked      pages taken under the zone lock: refills of
                                      a CPU's page list, and direct allocations
  kmem:mm_page_pcpu_drain             pages drained from a CPU's page list
                                      (both on the raw tracepoint when the page
                                      translation is calibrated)
  compaction:mm_compaction_kcompactd_wake   kcompactd wake-ups per node
Maps (read by numascope.collectors.allocator): `pcp` (per-CPU, per page node),
`kcompactd_wakes` (per-CPU, per node id). Allocations per CPU, failures per
order and high-order call sites come from the page-allocation probe's maps.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.page_alloc import PageAllocLayout, page_node_function
from numascope.probes.page_pfn import PageMap
from numascope.probes.programs import LoadedFamily, Program, build_family_source, load_family
from numascope.probes.tracepoints import Tracepoint
from numascope.topology import Topology

NAME = "allocator"

PROGRAMS = (
    Program(
        "on_zone_locked",
        Tracepoint("kmem", "mm_page_alloc_zone_locked"),
        "zone_locked_args",
        ("pfn", "order", "percpu_refill"),
        consequence="no zone-lock share per node",
        raw_function="on_zone_locked_raw",
    ),
    Program(
        "on_pcpu_drain",
        Tracepoint("kmem", "mm_page_pcpu_drain"),
        "pcpu_drain_args",
        ("pfn", "order"),
        consequence="no per-CPU list drains",
        raw_function="on_pcpu_drain_raw",
    ),
    Program(
        "on_kcompactd_wake",
        Tracepoint("compaction", "mm_compaction_kcompactd_wake"),
        "kcompactd_wake_args",
        ("nid",),
        consequence="no kcompactd wake-ups per node",
    ),
)


@dataclass
class AllocatorProbe:
    family: LoadedFamily
    layout: PageAllocLayout
    max_nid: int


def attach_allocator(
    topology: Topology,
    headers: str | None = None,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
    page_map: PageMap | None = None,
) -> AllocatorProbe:
    """Compile and attach the allocator probe (whatever of it this kernel allows).

    With the page-allocation probe's `page_map`, the page-list events are read
    on their raw tracepoints."""
    template = resources.files("numascope.probes").joinpath("allocator.bpf.c").read_text()
    template = template.replace("PAGE_NODE_SLOT_FUNCTION", page_node_function(topology))
    translation = page_map.c_expression("page") if page_map is not None else "0"
    template = f"#define PAGE_PFN(page) ({translation})\n" + template
    layout = PageAllocLayout(topology.node_ids)
    max_nid = max(topology.possible or topology.node_ids) + 1
    source = build_family_source(
        template,
        PROGRAMS,
        {"NODE_SLOTS": layout.node_slots, "MAX_NID": max_nid},
        tracefs,
        absent,
    )
    family = load_family(NAME, source, PROGRAMS, headers, raw=page_map is not None)
    return AllocatorProbe(family, layout, max_nid)
