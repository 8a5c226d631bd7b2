"""The page-allocation probe: source generation, loading and attaching.

What it measures (kept next to the C in page_alloc.bpf.c):
  mm_page_alloc                 every successful page allocation: owner, CPU node,
                                page node (from the pfn), order class; on the raw
                                tracepoint once the page pointer -> pfn translation
                                is calibrated (numascope.probes.page_pfn), else on
                                the perf tracepoint kmem:mm_page_alloc
  irq:irq_handler_entry/_exit   marks hard-IRQ context so allocations made there
  irq:softirq_entry/_exit       are charged to the interrupt, not the task it hit
  sched:sched_process_exec      closes the cached owner at exec (new name, cgroup)
Maps (read by numascope.collectors.page_alloc):
  owners0/owners1  (tgid, context, cgroup id, CPU node) -> counts, double-buffered
  cpu_state        per-CPU cached owner and its not-yet-flushed counts
  overflow         counts of owners the bounded hash had no room for
  epoch            which owners buffer the programs write to
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from numascope.errors import NumascopeError
from numascope.probes import bcc_loader
from numascope.probes.page_pfn import PageMap, calibrate, write_page_map
from numascope.probes.programs import (
    FamilySource,
    LoadedFamily,
    Program,
    attach_programs,
    build_family_source,
    compile_family,
)
from numascope.probes.tracepoints import Tracepoint
from numascope.topology import PfnRange, Topology

DEFAULT_MAX_OWNERS = 16384
# Allocations of this order and above are also counted by kernel call chain.
HIGH_ORDER = 4
MAX_SITES = 2048
NAME = "page_alloc"

PAGE_ALLOC = Tracepoint("kmem", "mm_page_alloc")
# The raw entry's name in the health's attached probes, and what `absent` names
# to play a kernel whose raw tracepoint cannot be used.
RAW_PAGE_ALLOC = "raw_tracepoint:mm_page_alloc"
RAW_ENTRY = "on_page_alloc"
RECORD_ENTRY = "on_page_alloc_record"
_HARD_IRQ = "allocations in hard IRQs count as the interrupted task's"
_SOFT_IRQ = "allocations in softirqs count as the interrupted task's"

# The entry (on the raw tracepoint when the page pointer translates, see
# attach_page_alloc) and the optional context programs. Each entry/exit pair is
# one group: an entry whose exit is missing would leave its mark set for good.
PROGRAMS = (
    Program(
        RECORD_ENTRY,
        PAGE_ALLOC,
        "page_alloc_args",
        ("pfn", "order"),
        group="entry",
        raw_function=RAW_ENTRY,
    ),
    Program(
        "on_irq_entry",
        Tracepoint("irq", "irq_handler_entry"),
        "irq_entry_args",
        ("irq",),
        group="irq",
        consequence=_HARD_IRQ,
    ),
    Program(
        "on_irq_exit",
        Tracepoint("irq", "irq_handler_exit"),
        "irq_exit_args",
        ("irq",),
        group="irq",
        consequence=_HARD_IRQ,
    ),
    Program(
        "on_softirq_entry",
        Tracepoint("irq", "softirq_entry"),
        "softirq_args",
        ("vec",),
        group="softirq",
        consequence=_SOFT_IRQ,
    ),
    Program(
        "on_softirq_exit",
        Tracepoint("irq", "softirq_exit"),
        None,
        group="softirq",
        consequence=_SOFT_IRQ,
    ),
    Program(
        "on_exec",
        Tracepoint("sched", "sched_process_exec"),
        None,
        consequence="a process keeps its pre-exec name and cgroup until its next flush",
    ),
)


@dataclass(frozen=True)
class PageAllocLayout:
    """How the kernel counters are laid out: node slots and order classes.

    Slot i < len(node_ids) is node `node_ids[i]`; the last slot is "unknown" (a
    pfn on no node the topology knew when the program was compiled).
    """

    node_ids: tuple[int, ...]
    order_classes: int = 4

    @property
    def node_slots(self) -> int:
        return len(self.node_ids) + 1

    @property
    def count_slots(self) -> int:
        return self.node_slots * self.order_classes

    def split(self, slot: int) -> tuple[int, int]:
        """(page node id or -1 for unknown, order class) of a counter index."""
        node_slot, order_class = divmod(slot, self.order_classes)
        node = self.node_ids[node_slot] if node_slot < len(self.node_ids) else -1
        return node, order_class


def page_node_function(topology: Topology) -> str:
    """C for `page_node_slot(pfn)`: a binary search over node boundaries.

    Only boundaries between different nodes matter (holes hold no allocatable
    page), so a single-node host compiles to two comparisons at most.
    """
    slot_of = {node_id: i for i, node_id in enumerate(topology.node_ids)}
    unknown = len(topology.node_ids)
    runs: list[PfnRange] = []
    for r in sorted(topology.pfn_ranges, key=lambda r: r.start):
        if r.node not in slot_of:
            continue
        if runs and runs[-1].node == r.node:
            runs[-1] = PfnRange(runs[-1].start, r.end, r.node)
        else:
            runs.append(r)
    lines = ["static __always_inline u32 page_node_slot(u64 pfn)", "{"]
    if not runs:
        lines += [f"    return {unknown};", "}"]
        return "\n".join(lines)
    # Memory hot-added after compiling lands beyond the last known pfn.
    lines.append(f"    if (pfn >= {runs[-1].end}ULL)")
    lines.append(f"        return {unknown};")

    def tree(items: list[PfnRange], indent: str) -> None:
        if len(items) == 1:
            lines.append(f"{indent}return {slot_of[items[0].node]};")
            return
        mid = len(items) // 2
        lines.append(f"{indent}if (pfn < {items[mid].start}ULL) {{")
        tree(items[:mid], indent + "    ")
        lines.append(f"{indent}}} else {{")
        tree(items[mid:], indent + "    ")
        lines.append(f"{indent}}}")

    tree(runs, "    ")
    lines.append("}")
    return "\n".join(lines)


def build_source(
    topology: Topology,
    max_owners: int = DEFAULT_MAX_OWNERS,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
) -> FamilySource:
    """The program text, with the programs of the tracepoints this kernel has."""
    template = resources.files("numascope.probes").joinpath("page_alloc.bpf.c").read_text()
    template = template.replace("PAGE_NODE_SLOT_FUNCTION", page_node_function(topology))
    layout = PageAllocLayout(topology.node_ids)
    defines = {
        "NODE_SLOTS": layout.node_slots,
        "MAX_OWNERS": max_owners,
        "HIGH_ORDER": HIGH_ORDER,
        "MAX_SITES": MAX_SITES,
    }
    source = build_family_source(template, PROGRAMS, defines, tracefs, absent)
    if RECORD_ENTRY not in source.attach:
        raise NumascopeError(
            f"{PAGE_ALLOC.name} unavailable: {source.missing.get(PAGE_ALLOC.name, 'not found')}"
        )
    return source


@dataclass
class PageAllocProbe:
    """The loaded, attached page-allocation family and its maps."""

    family: LoadedFamily
    layout: PageAllocLayout
    max_owners: int
    # The raw entry's translation; None when the record entry runs (see why_record).
    page_map: PageMap | None = None
    why_record: str = ""

    @property
    def entry(self) -> str:
        """The function counting page allocations: RAW_ENTRY or RECORD_ENTRY."""
        return RAW_ENTRY if RAW_ENTRY in self.family.attached else RECORD_ENTRY

    @property
    def tables(self) -> Any:
        """The family's maps, as the collectors read them."""
        return self.family.bpf


def attach_page_alloc(
    topology: Topology,
    max_owners: int = DEFAULT_MAX_OWNERS,
    headers: str | None = None,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
) -> PageAllocProbe:
    """Compile, load and attach the page-allocation probe.

    The entry runs on the raw tracepoint when the page pointer -> pfn
    translation calibrates, else on the perf tracepoint's record (said on
    stderr). `absent` naming RAW_PAGE_ALLOC plays a kernel where the raw entry
    cannot be used; naming tracepoints, a kernel without them."""
    bcc_loader.import_bcc()
    bcc_loader.check_privileges()
    bcc_loader.ensure_tracefs()
    source = build_source(topology, max_owners, tracefs, absent)
    family = compile_family(NAME, source, headers)
    probe = PageAllocProbe(family, PageAllocLayout(topology.node_ids), max_owners)
    bpf = family.bpf
    found = f"{RAW_PAGE_ALLOC} treated as absent" if RAW_PAGE_ALLOC in absent else calibrate(bpf)
    if isinstance(found, PageMap):
        write_page_map(bpf, found)
    try:
        attach_programs(family, source, PROGRAMS, raw=isinstance(found, PageMap))
    except NumascopeError:
        raise NumascopeError(f"attaching to {PAGE_ALLOC.name} failed") from None
    if probe.entry == RAW_ENTRY:
        probe.page_map = found if isinstance(found, PageMap) else None
        return probe
    if RECORD_ENTRY not in family.attached:
        why = family.missing.get(PAGE_ALLOC.name, "failed")
        bpf.cleanup()
        raise NumascopeError(f"attaching to {PAGE_ALLOC.name} failed: {why}")
    probe.why_record = found if isinstance(found, str) else "attaching to the raw tracepoint failed"
    print(
        f"numascope: counting page allocations through {PAGE_ALLOC.name}'s record, "
        f"which costs each allocation more than the raw tracepoint: {probe.why_record}",
        file=sys.stderr,
    )
    return probe
