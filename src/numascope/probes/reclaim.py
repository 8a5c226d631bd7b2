"""The reclaim probe: kswapd, direct and node reclaim, compaction, per node.

What it measures (kept next to the C in reclaim.bpf.c):
  vmscan:mm_vmscan_kswapd_wake/_sleep       wake-ups and time awake per node
  vmscan:mm_vmscan_lru_shrink_inactive      pages scanned and reclaimed per node,
                                            split by who reclaimed (kswapd, ...)
  vmscan:mm_vmscan_direct_reclaim_begin/_end  direct reclaim stalls per workload
  vmscan:mm_vmscan_memcg_reclaim_begin/_end   stalls at a cgroup's memory limit
  vmscan:mm_vmscan_node_reclaim_begin/_end    zone_reclaim_mode runs per node
  compaction:mm_compaction_try_to_compact_pages  direct compaction runs
Maps (read by numascope.collectors.reclaim):
  node_stats           per-CPU counters per node slot
  kswapd_since         per node: start of kswapd's current wake, 0 while asleep
  stallers0/stallers1  (tgid, kind, CPU node) -> stalls, histogram; double-buffered
  stall_overflow       stalls of workloads the bounded hash had no room for
  epoch                which stallers buffer the programs write to
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.programs import (
    FamilySource,
    LoadedFamily,
    Program,
    build_family_source,
    load_family,
)
from numascope.probes.tracepoints import Tracepoint

NAME = "reclaim"
DEFAULT_MAX_STALLERS = 4096
# Slot i holds stalls below 2^i microseconds; the last slot (2^26 us, 67 s) takes the rest.
STALL_SLOTS = 27
KINDS = ("kswapd", "direct", "memcg", "node", "other")
KIND_KSWAPD, KIND_DIRECT, KIND_MEMCG, KIND_NODE, KIND_OTHER = range(len(KINDS))


def _vmscan(event: str) -> Tracepoint:
    return Tracepoint("vmscan", f"mm_vmscan_{event}")


PROGRAMS = (
    Program(
        "on_kswapd_wake",
        _vmscan("kswapd_wake"),
        "kswapd_wake_args",
        ("nid",),
        "kswapd",
        "no kswapd wake-ups or awake time",
    ),
    Program(
        "on_kswapd_sleep",
        _vmscan("kswapd_sleep"),
        "kswapd_sleep_args",
        ("nid",),
        "kswapd",
        "no kswapd wake-ups or awake time",
    ),
    Program(
        "on_direct_begin",
        _vmscan("direct_reclaim_begin"),
        None,
        (),
        "direct",
        "no direct reclaim stalls",
    ),
    Program(
        "on_direct_end",
        _vmscan("direct_reclaim_end"),
        "direct_end_args",
        ("nr_reclaimed",),
        "direct",
        "no direct reclaim stalls",
    ),
    Program(
        "on_memcg_begin",
        _vmscan("memcg_reclaim_begin"),
        None,
        (),
        "memcg",
        "no stalls at cgroup memory limits",
    ),
    Program(
        "on_memcg_end",
        _vmscan("memcg_reclaim_end"),
        "memcg_end_args",
        ("nr_reclaimed",),
        "memcg",
        "no stalls at cgroup memory limits",
    ),
    Program(
        "on_node_begin",
        _vmscan("node_reclaim_begin"),
        "node_begin_args",
        ("nid",),
        "node",
        "no node reclaim (zone_reclaim_mode) events",
    ),
    Program(
        "on_node_end",
        _vmscan("node_reclaim_end"),
        "node_end_args",
        ("nr_reclaimed",),
        "node",
        "no node reclaim (zone_reclaim_mode) events",
    ),
    Program(
        "on_shrink_inactive",
        _vmscan("lru_shrink_inactive"),
        "shrink_inactive_args",
        ("nid", "nr_scanned", "nr_reclaimed"),
        "shrink",
        "no pages scanned or reclaimed per node",
    ),
    Program(
        "on_compact",
        Tracepoint("compaction", "mm_compaction_try_to_compact_pages"),
        None,
        (),
        "compaction",
        "no direct compaction stalls",
    ),
)


@dataclass(frozen=True)
class ReclaimLayout:
    """Node slots as compiled: slot i is node i, the last slot any node beyond."""

    node_slots: int
    stall_slots: int = STALL_SLOTS
    max_stallers: int = DEFAULT_MAX_STALLERS

    def node_of_slot(self, slot: int) -> int:
        return slot if slot < self.node_slots - 1 else -1


def layout_for(
    node_ids: tuple[int, ...], max_stallers: int = DEFAULT_MAX_STALLERS
) -> ReclaimLayout:
    return ReclaimLayout(node_slots=max(node_ids, default=0) + 2, max_stallers=max_stallers)


def build_source(
    layout: ReclaimLayout, tracefs: Path = bcc_loader.TRACEFS, absent: Collection[str] = ()
) -> FamilySource:
    template = resources.files("numascope.probes").joinpath("reclaim.bpf.c").read_text()
    defines = {
        "NODE_SLOTS": layout.node_slots,
        "MAX_STALLERS": layout.max_stallers,
        "STALL_SLOTS": layout.stall_slots,
    }
    return build_family_source(template, PROGRAMS, defines, tracefs, absent)


@dataclass
class ReclaimProbe:
    family: LoadedFamily
    layout: ReclaimLayout


def attach_reclaim(
    node_ids: tuple[int, ...],
    headers: str | None = None,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
    max_stallers: int = DEFAULT_MAX_STALLERS,
) -> ReclaimProbe:
    """Compile, load and attach the reclaim probe (whatever of it this kernel allows)."""
    bcc_loader.import_bcc()
    bcc_loader.check_privileges()
    bcc_loader.ensure_tracefs()
    layout = layout_for(node_ids, max_stallers)
    source = build_source(layout, tracefs, absent)
    return ReclaimProbe(load_family(NAME, source, PROGRAMS, headers), layout)
