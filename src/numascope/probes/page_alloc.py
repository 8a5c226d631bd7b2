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
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from numascope.errors import NumascopeError
from numascope.probes import bcc_loader
from numascope.probes.page_pfn import PageMap, calibrate, write_page_map
from numascope.probes.tracepoints import Tracepoint, c_struct, read_format
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
CONTEXT_TRACEPOINTS = {
    "on_irq_entry": (Tracepoint("irq", "irq_handler_entry"), "irq_entry_args", ["irq"]),
    "on_irq_exit": (Tracepoint("irq", "irq_handler_exit"), "irq_exit_args", ["irq"]),
    "on_softirq_entry": (Tracepoint("irq", "softirq_entry"), "softirq_args", ["vec"]),
    "on_softirq_exit": (Tracepoint("irq", "softirq_exit"), None, ["vec"]),
    "on_exec": (Tracepoint("sched", "sched_process_exec"), None, ["pid"]),
}

# What numascope loses without each optional tracepoint, said when it is missing.
CONSEQUENCE = {
    "irq:irq_handler_entry": "allocations in hard IRQs count as the interrupted task's",
    "irq:irq_handler_exit": "allocations in hard IRQs count as the interrupted task's",
    "irq:softirq_entry": "allocations in softirqs count as the interrupted task's",
    "irq:softirq_exit": "allocations in softirqs count as the interrupted task's",
    "sched:sched_process_exec": "a process keeps its pre-exec name and cgroup until its next flush",
}


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
    with_context: bool = True,
) -> tuple[str, dict[str, Tracepoint], dict[str, str]]:
    """The program text, the context functions to attach, and tracepoints left out (why)."""
    template = resources.files("numascope.probes").joinpath("page_alloc.bpf.c").read_text()
    structs = [c_struct("page_alloc_args", read_format(PAGE_ALLOC, tracefs), ["pfn", "order"])]
    attach: dict[str, Tracepoint] = {}
    missing: dict[str, str] = {}
    for fn, (tp, struct_name, wanted) in CONTEXT_TRACEPOINTS.items():
        if not with_context:
            break
        try:
            fmt = read_format(tp, tracefs)
        except NumascopeError as exc:
            missing[tp.name] = str(exc)
            continue
        if struct_name:
            structs.append(c_struct(struct_name, fmt, wanted))
        attach[fn] = tp
    # Functions for tracepoints we cannot attach are compiled out.
    for fn in CONTEXT_TRACEPOINTS:
        if fn not in attach:
            template = _drop_function(template, fn)
    layout = PageAllocLayout(topology.node_ids)
    text = (
        f"#define NODE_SLOTS {layout.node_slots}\n#define MAX_OWNERS {max_owners}\n"
        f"#define HIGH_ORDER {HIGH_ORDER}\n#define MAX_SITES {MAX_SITES}\n"
        + template.replace("TRACEPOINT_STRUCTS", "\n\n".join(structs)).replace(
            "PAGE_NODE_SLOT_FUNCTION", page_node_function(topology)
        )
    )
    return text, attach, missing


def _drop_function(text: str, fn: str) -> str:
    start = text.find(f"int {fn}(")
    if start < 0:
        return text
    end = text.find("\n}\n", start)
    return text[:start] + text[end + 3 :]


@dataclass
class PageAllocProbe:
    """The loaded, attached page-allocation program and its maps."""

    bpf: Any
    layout: PageAllocLayout
    max_owners: int
    attached: dict[str, str] = field(default_factory=dict)  # function -> tracepoint
    missing: dict[str, str] = field(default_factory=dict)  # tracepoint -> why
    # The raw entry's translation; None when the record entry runs (see why_record).
    page_map: PageMap | None = None
    why_record: str = ""

    @property
    def entry(self) -> str:
        """The function counting page allocations: RAW_ENTRY or RECORD_ENTRY."""
        return RAW_ENTRY if RAW_ENTRY in self.attached else RECORD_ENTRY

    @property
    def tables(self) -> Any:
        return self.bpf

    def program_fds(self) -> dict[str, int]:
        return {fn: self.bpf.funcs[fn.encode()].fd for fn in self.attached}

    def detachers(self) -> list[Callable[[], None]]:
        return bcc_loader.tracepoint_detachers(self.bpf)

    def close(self) -> None:
        self.bpf.cleanup()


def attach_page_alloc(
    topology: Topology,
    max_owners: int = DEFAULT_MAX_OWNERS,
    headers: str | None = None,
    with_context: bool = True,
    absent: frozenset[str] = frozenset(),
) -> PageAllocProbe:
    """Compile, load and attach the page-allocation probe.

    `absent` naming RAW_PAGE_ALLOC plays a kernel where the raw tracepoint entry
    cannot be used (the perf tracepoint's record entry counts instead)."""
    bcc = bcc_loader.import_bcc()
    bcc_loader.check_privileges()
    bcc_loader.ensure_tracefs()
    text, attach, missing = build_source(topology, max_owners, with_context=with_context)
    bpf = bcc_loader.load_program(text, headers)
    probe = PageAllocProbe(bpf, PageAllocLayout(topology.node_ids), max_owners, missing=missing)
    try:
        _attach_entry(probe, absent)
    except NumascopeError:
        bpf.cleanup()
        raise
    for fn, tp in attach.items():
        try:
            bpf.load_func(fn.encode(), bcc.BPF.TRACEPOINT)
            bpf.attach_tracepoint(tp=tp.name.encode(), fn_name=fn.encode())
        except Exception as exc:  # bcc raises bare Exception on attach failure
            probe.missing[tp.name] = str(exc)
            continue
        probe.attached[fn] = tp.name
    for tracepoint in sorted(probe.missing):
        print(
            f"numascope: {tracepoint} unavailable; {CONSEQUENCE.get(tracepoint, '')}".rstrip(),
            file=sys.stderr,
        )
    return probe


def _attach_entry(probe: PageAllocProbe, absent: frozenset[str]) -> None:
    """The raw tracepoint entry when the page pointer -> pfn translation
    calibrates, else the perf tracepoint's record entry (said on stderr)."""
    bpf = probe.bpf
    found = f"{RAW_PAGE_ALLOC} treated as absent" if RAW_PAGE_ALLOC in absent else calibrate(bpf)
    if isinstance(found, PageMap):
        write_page_map(bpf, found)
        try:
            bpf.attach_raw_tracepoint(tp=b"mm_page_alloc", fn_name=RAW_ENTRY.encode())
        except Exception as exc:  # bcc raises bare Exception on attach failure
            found = f"attaching to the raw tracepoint failed: {str(exc).strip()}"
        else:
            probe.page_map = found
            probe.attached[RAW_ENTRY] = RAW_PAGE_ALLOC
            return
    probe.why_record = found
    print(
        f"numascope: counting page allocations through {PAGE_ALLOC.name}'s record, "
        f"which costs each allocation more than the raw tracepoint: {found}",
        file=sys.stderr,
    )
    try:
        bpf.attach_tracepoint(tp=PAGE_ALLOC.name.encode(), fn_name=RECORD_ENTRY.encode())
    except Exception as exc:  # bcc raises bare Exception on attach failure
        raise NumascopeError(f"attaching to {PAGE_ALLOC.name} failed: {exc}") from exc
    probe.attached[RECORD_ENTRY] = PAGE_ALLOC.name
