"""The migration probe: pages the kernel migrated, by task and reason.

What it measures (kept next to the C in migrate.bpf.c):
  migrate:mm_migrate_pages        one migrate_pages() call: counts and reason
  migrate:mm_migrate_pages_start  opens the calling thread's window
  kmem:mm_page_alloc / _free      pages that thread got / freed in its window:
                                  the migration's targets / sources, by node
                                  (on the raw tracepoints when the page
                                  translation is calibrated)
  sched:sched_move_numa           NUMA balancing moved a task to another node
  sched:sched_swap_numa           ... swapped two tasks between nodes
  sched:sched_stick_numa          ... wanted to move it and could not
Maps (read by numascope.collectors.migrate): `migrations` per-CPU hash
(tgid, reason) -> counts; `migrate_overflow` by reason when it is full;
`task_moves` per-CPU hash (tgid, outcome, node) -> events, `task_move_overflow`
by outcome.

The record of mm_migrate_pages differs between kernels: 6.18 adds
`large_folio_split` (6.1 does not have it), so the program is compiled with
or without that field after reading the running kernel's format file.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from numascope.errors import NumascopeError
from numascope.probes import bcc_loader
from numascope.probes.page_alloc import page_node_function
from numascope.probes.page_pfn import PageMap
from numascope.probes.programs import (
    LoadedFamily,
    Program,
    build_family_source,
    drop_function,
    load_family,
)
from numascope.probes.tracepoints import Tracepoint, read_format
from numascope.topology import Topology

NAME = "migrate"
MAX_MIGRATE_KEYS = 4096
MAX_TASK_MOVE_KEYS = 4096
# migrate_reason codes run 0..9 on 6.18; the last slot takes any code beyond.
MAX_REASONS = 16
MIGRATE_PAGES = Tracepoint("migrate", "mm_migrate_pages")
COUNT_FIELDS = ("succeeded", "failed", "thp_succeeded", "thp_failed", "thp_split", "reason")
LARGE_FOLIO_SPLIT = "large_folio_split"
NODES_GROUP = "window"
# NUMA balancing's task moves: few events (a faulting task's, a few a second at
# most), attached whenever the family is, with or without nodes.
TASK_MOVE_PROGRAMS = (
    Program(
        "on_task_move",
        Tracepoint("sched", "sched_move_numa"),
        "task_move_args",
        ("tgid", "dst_nid"),
        consequence="tasks NUMA balancing moved not counted",
    ),
    Program(
        "on_task_swap",
        Tracepoint("sched", "sched_swap_numa"),
        "task_swap_args",
        ("src_tgid", "src_nid", "dst_tgid", "dst_nid"),
        consequence="tasks NUMA balancing swapped not counted",
    ),
    Program(
        "on_task_stick",
        Tracepoint("sched", "sched_stick_numa"),
        "task_stick_args",
        ("src_tgid", "dst_nid"),
        consequence="tasks NUMA balancing could not move not counted",
    ),
)


def programs(large_folio_split: bool) -> tuple[Program, ...]:
    """The family's page programs (the count, then the window's); `large_folio_split`
    when the kernel's record has it."""
    fields = COUNT_FIELDS + ((LARGE_FOLIO_SPLIT,) if large_folio_split else ())
    return (
        Program(
            "on_migrate_end",
            MIGRATE_PAGES,
            "migrate_args",
            fields,
            consequence="no migrations counted",
        ),
        Program(
            "on_migrate_start",
            Tracepoint("migrate", "mm_migrate_pages_start"),
            "migrate_start_args",
            ("reason",),
            group=NODES_GROUP,
            consequence="source and target nodes of migrations unknown",
        ),
        Program(
            "on_page_alloc",
            Tracepoint("kmem", "mm_page_alloc"),
            "migrate_alloc_args",
            ("pfn", "order"),
            group=NODES_GROUP,
            consequence="target nodes of migrations unknown",
            raw_function="on_page_alloc_raw",
        ),
        Program(
            "on_page_free",
            Tracepoint("kmem", "mm_page_free"),
            "migrate_free_args",
            ("pfn", "order"),
            group=NODES_GROUP,
            consequence="source nodes of migrations unknown",
            raw_function="on_page_free_raw",
        ),
    )


def has_large_folio_split(tracefs: Path) -> bool:
    """Whether this kernel's mm_migrate_pages record has `large_folio_split`."""
    try:
        return LARGE_FOLIO_SPLIT in read_format(MIGRATE_PAGES, tracefs)
    except NumascopeError:
        return False  # the family reports the tracepoint missing when it builds


@dataclass
class MigrateProbe:
    family: LoadedFamily
    node_ids: tuple[int, ...]

    @property
    def tracks_nodes(self) -> bool:
        """Whether the window programs run (else every page's node is unknown)."""
        return "on_migrate_start" in self.family.attached

    @property
    def tracks_task_moves(self) -> bool:
        """Whether NUMA balancing's task moves are counted (any of their tracepoints)."""
        return any(p.function in self.family.attached for p in TASK_MOVE_PROGRAMS)


def attach_migrate(
    topology: Topology,
    headers: str | None = None,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
    page_map: PageMap | None = None,
    nodes: bool = True,
) -> MigrateProbe:
    """Compile and attach the family; raises NumascopeError without mm_migrate_pages.

    Without `nodes`, only mm_migrate_pages is attached (nothing runs on the page
    allocator's paths, every node is unknown). With the page-allocation probe's
    `page_map`, the page hooks run on the raw tracepoints."""
    template = resources.files("numascope.probes").joinpath("migrate.bpf.c").read_text()
    template = template.replace("PAGE_NODE_SLOT_FUNCTION", page_node_function(topology))
    translation = page_map.c_expression("page") if page_map is not None else "0"
    template = f"#define PAGE_PFN(page) ({translation})\n" + template
    split = has_large_folio_split(tracefs)
    family_programs = programs(split)
    if not nodes:
        for p in family_programs[1:]:
            template = drop_function(drop_function(template, p.function), p.raw_function)
        family_programs = family_programs[:1]
    family_programs += TASK_MOVE_PROGRAMS
    defines = {
        "NODE_SLOTS": len(topology.node_ids) + 1,
        "MAX_MIGRATE_KEYS": MAX_MIGRATE_KEYS,
        "MAX_TASK_MOVE_KEYS": MAX_TASK_MOVE_KEYS,
        "MAX_REASONS": MAX_REASONS,
        "HAVE_LARGE_FOLIO_SPLIT": int(split),
    }
    source = build_family_source(template, family_programs, defines, tracefs, absent)
    if "on_migrate_end" not in source.attach:
        why = source.missing.get(MIGRATE_PAGES.name, "not found")
        raise NumascopeError(f"{NAME} unavailable: {why}")
    family = load_family(NAME, source, family_programs, headers, raw=page_map is not None)
    return MigrateProbe(family, topology.node_ids)
