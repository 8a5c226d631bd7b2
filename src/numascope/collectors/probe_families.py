"""Probe families: each is declared here once, and attaches, collects, fails and
closes alone.

A live source runs any set of families, page allocations among them. One that
cannot attach (its tracepoints missing, a compile error) is left out with one
line on stderr and an entry in the snapshot's health; the others keep running.
A family that keeps a row per owner (page allocations) hands the live source
its `owners` ledger, which the source retires and attributes; the others have
none. Adding a family is one declaration here and one collector.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from numascope.collectors.allocator import AllocatorCollector
from numascope.collectors.irq_info import read_interrupts
from numascope.collectors.irqs import IrqCollector
from numascope.collectors.kernel_counters import MigrationCounterCollector
from numascope.collectors.migrate import MigrateCollector
from numascope.collectors.owner_table import OwnerKey, OwnerTable
from numascope.collectors.page_alloc import PageAllocCollector
from numascope.collectors.reclaim import ReclaimCollector
from numascope.collectors.slab import SlabCollector
from numascope.errors import NumascopeError, reason_of
from numascope.probes import bcc_loader
from numascope.probes.allocator import AllocatorProbe, attach_allocator
from numascope.probes.irq import IrqProbe, attach_irq
from numascope.probes.migrate import MAX_REASONS, MigrateProbe, attach_migrate
from numascope.probes.page_alloc import DEFAULT_MAX_OWNERS, PageAllocProbe, attach_page_alloc
from numascope.probes.programs import LoadedFamily
from numascope.probes.reclaim import ReclaimProbe, attach_reclaim
from numascope.probes.slab import SlabProbe, attach_slab
from numascope.snapshot.migration import MigrationSection
from numascope.snapshot.model import KernelNodeCounters
from numascope.snapshot.sections import (
    AllocatorSection,
    DirectReclaim,
    IrqStats,
    ReclaimNode,
    SlabCache,
    SoftirqStats,
)
from numascope.topology import Topology

PAGE_ALLOC = "page_alloc"
RECLAIM = "reclaim"
IRQ = "irq"
ALLOCATOR = "allocator"
SLAB = "slab"
MIGRATE = "migrate"
# The same family with source and target nodes: its page hooks run on every
# page allocation and free of the host, which the fault loop pays for
# (BENCHMARKS.md, "Migrations"), so they are asked for by name.
MIGRATE_NODES = "migrate_nodes"
# Slab allocations outnumber page allocations; that family is asked for by name.
DEFAULT_FAMILIES = (PAGE_ALLOC, RECLAIM, IRQ, ALLOCATOR, MIGRATE)


def parse_probe_list(text: str) -> tuple[str, ...]:
    """`page_alloc,reclaim` -> ("page_alloc", "reclaim"); an unknown name is an error."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in FAMILY_NAMES]
    if unknown or not names:
        raise NumascopeError(
            f"--probes: unknown probe family {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(FAMILY_NAMES)}"
        )
    return names


@dataclass(frozen=True)
class FamilyReading:
    """The snapshot sections one family fills (the rest stay empty)."""

    owners: OwnerTable | None = None
    # The kernel's counters as read at this family's own moment (see `collect`).
    kernel: tuple[KernelNodeCounters, ...] | None = None
    reclaim: tuple[ReclaimNode, ...] = ()
    direct_reclaim: tuple[DirectReclaim, ...] = ()
    irqs: tuple[IrqStats, ...] = ()
    softirqs: tuple[SoftirqStats, ...] = ()
    allocator: AllocatorSection | None = None
    slab: tuple[SlabCache, ...] = ()
    migrations: MigrationSection | None = None


# Reads the kernel's per-node counters; a family calls it at the moment that
# bounds what its poll drains, so both cover the same window.
KernelReader = Callable[[], tuple[KernelNodeCounters, ...]]


class OwnerLedger(Protocol):
    """A family's rows per owner, which the live source retires and attributes."""

    peak_entries: int

    def table(self) -> OwnerTable: ...

    def owner_keys(self) -> list[OwnerKey]: ...

    def retire(self, keys: Iterable[OwnerKey]) -> None: ...


class ProbeFamily(Protocol):
    name: str

    @property
    def owners(self) -> OwnerLedger | None: ...  # None: no rows per owner

    @property
    def owner_capacity(self) -> int: ...  # owner entries the kernel map holds (0: none)

    @property
    def attached(self) -> Mapping[str, str]: ...  # function -> tracepoint

    @property
    def missing(self) -> Mapping[str, str]: ...  # tracepoint -> why

    def program_fds(self) -> dict[str, int]: ...

    def detachers(self) -> list[Callable[[], None]]: ...  # one per attached tracepoint

    def collect(self, kernel: KernelReader) -> FamilyReading: ...

    def close(self) -> None: ...


class _HasLoadedFamily(Protocol):
    family: LoadedFamily


ProbeT = TypeVar("ProbeT", bound=_HasLoadedFamily)
CollectorT = TypeVar("CollectorT")


class FamilyOf(Generic[ProbeT, CollectorT]):
    """What every family shares: an attached probe whose programs are one
    `LoadedFamily` at `probe.family`, the collector reading its maps, and no rows
    per owner; each family adds its `open` and its `collect`."""

    owners: OwnerLedger | None = None
    owner_capacity: int = 0

    def __init__(self, probe: ProbeT, collector: CollectorT) -> None:
        self.probe = probe
        self.collector = collector

    @property
    def attached(self) -> Mapping[str, str]:
        return self.probe.family.attached

    @property
    def missing(self) -> Mapping[str, str]:
        return self.probe.family.missing

    def program_fds(self) -> dict[str, int]:
        return self.probe.family.program_fds()

    def detachers(self) -> list[Callable[[], None]]:
        return self.probe.family.detachers()

    def close(self) -> None:
        self.probe.family.close()


@dataclass(frozen=True)
class FamilyContext:
    """What a family needs to attach: the host, where to read it, and the
    families attached before it (the allocator family reads page allocations')."""

    topology: Topology
    headers: str | None = None
    sysfs: Path = Path("/sys")
    proc: Path = Path("/proc")
    tracefs: Path = bcc_loader.TRACEFS
    absent: Collection[str] = ()
    max_owners: int = DEFAULT_MAX_OWNERS
    opened: tuple[ProbeFamily, ...] = ()


class PageAllocFamily(FamilyOf[PageAllocProbe, PageAllocCollector]):
    """Page allocations by owner: the one family that keeps a row per owner."""

    name = PAGE_ALLOC

    def __init__(self, probe: PageAllocProbe, collector: PageAllocCollector) -> None:
        super().__init__(probe, collector)
        self.owners = collector
        self.owner_capacity = probe.max_owners

    @classmethod
    def open(cls, at: FamilyContext) -> PageAllocFamily:
        probe = attach_page_alloc(at.topology, at.max_owners, at.headers, at.tracefs, at.absent)
        return cls(probe, PageAllocCollector(probe.tables, probe.layout))

    def collect(self, kernel: KernelReader) -> FamilyReading:
        # The kernel's counters are read at the epoch flip, the moment that
        # bounds what this poll drains.
        at_flip: list[tuple[KernelNodeCounters, ...]] = []
        owners = self.collector.read(at_flip=lambda: at_flip.append(kernel())).table
        return FamilyReading(owners=owners, kernel=at_flip[0] if at_flip else None)


class ReclaimFamily(FamilyOf[ReclaimProbe, ReclaimCollector]):
    """kswapd and direct reclaim per node, and the workloads reclaim stalled."""

    name = RECLAIM

    @classmethod
    def open(cls, at: FamilyContext) -> ReclaimFamily:
        node_ids = at.topology.node_ids
        probe = attach_reclaim(node_ids, at.headers, at.tracefs, at.absent)
        tables, layout = probe.family.bpf, probe.layout
        return cls(probe, ReclaimCollector(tables, layout, node_ids, sysfs=at.sysfs, proc=at.proc))

    def collect(self, kernel: KernelReader) -> FamilyReading:
        reading = self.collector.read()
        return FamilyReading(reclaim=reading.nodes, direct_reclaim=reading.stalls)


class IrqFamily(FamilyOf[IrqProbe, IrqCollector]):
    """Interrupts handled away from their device's node, and softirqs by node."""

    name = IRQ

    @classmethod
    def open(cls, at: FamilyContext) -> IrqFamily:
        highest = max(read_interrupts(at.proc), default=0)
        probe = attach_irq(highest, at.headers, at.tracefs, at.absent)
        cpu_node = dict(at.topology.cpu_node)
        tables, layout = probe.family.bpf, probe.layout
        return cls(probe, IrqCollector(tables, layout, cpu_node, proc=at.proc, sysfs=at.sysfs))

    def collect(self, kernel: KernelReader) -> FamilyReading:
        irqs, softirqs = self.collector.read()
        return FamilyReading(irqs=irqs, softirqs=softirqs)


class AllocatorFamily(FamilyOf[AllocatorProbe, AllocatorCollector]):
    """The allocator's internals: per-CPU page lists, zone lock, high-order sites."""

    name = ALLOCATOR

    @classmethod
    def open(cls, at: FamilyContext) -> AllocatorFamily:
        # With page allocations attached, their maps and page translation serve too.
        page = next((f.probe for f in at.opened if isinstance(f, PageAllocFamily)), None)
        page_map = page.page_map if page is not None else None
        probe = attach_allocator(at.topology, at.headers, at.tracefs, at.absent, page_map)
        collector = AllocatorCollector(
            probe.family.bpf,
            page.tables if page is not None else None,
            probe.layout,
            dict(at.topology.cpu_node),
            probe.max_nid,
            proc=at.proc,
        )
        return cls(probe, collector)

    def collect(self, kernel: KernelReader) -> FamilyReading:
        return FamilyReading(allocator=self.collector.read())


class MigrateFamily(FamilyOf[MigrateProbe, MigrateCollector]):
    """Pages migrated by process or kernel thread and reason, with the kernel's
    migration counters read at the same moment."""

    name = MIGRATE

    @classmethod
    def open(cls, at: FamilyContext) -> MigrateFamily:
        """Counts by owner and reason; every node unknown."""
        return cls._open(at, nodes=False)

    @classmethod
    def open_with_nodes(cls, at: FamilyContext) -> MigrateFamily:
        """Counts, and the nodes pages left and reached."""
        return cls._open(at, nodes=True)

    @classmethod
    def _open(cls, at: FamilyContext, nodes: bool) -> MigrateFamily:
        # With page allocations attached, their page translation serves too.
        page = next((f.probe for f in at.opened if isinstance(f, PageAllocFamily)), None)
        page_map = page.page_map if page is not None else None
        probe = attach_migrate(at.topology, at.headers, at.tracefs, at.absent, page_map, nodes)
        node_ids = at.topology.node_ids
        kernel = MigrationCounterCollector(node_ids, sysfs=at.sysfs, proc=at.proc)
        kernel.read()  # the baseline: both count from the attach
        collector = MigrateCollector(
            probe.family.bpf,
            node_ids,
            tracks_nodes=probe.tracks_nodes,
            tracks_task_moves=probe.tracks_task_moves,
            proc=at.proc,
            kernel=kernel.read,
            reasons=MAX_REASONS,
        )
        return cls(probe, collector)

    def collect(self, kernel: KernelReader) -> FamilyReading:
        return FamilyReading(migrations=self.collector.read())


class SlabFamily(FamilyOf[SlabProbe, SlabCollector]):
    """Slab allocations by the allocating CPU's node and the page's."""

    name = SLAB

    @classmethod
    def open(cls, at: FamilyContext) -> SlabFamily:
        probe = attach_slab(at.topology, at.headers, at.tracefs, at.absent)
        cpu_node = dict(at.topology.cpu_node)
        return cls(probe, SlabCollector(probe.family.bpf, probe.node_ids, cpu_node))

    def collect(self, kernel: KernelReader) -> FamilyReading:
        return FamilyReading(slab=self.collector.read())


# Every family, by name, in the order they attach: a new family is one class
# above (attach, collect) and one entry here.
FAMILIES: dict[str, Callable[[FamilyContext], ProbeFamily]] = {
    PAGE_ALLOC: PageAllocFamily.open,
    RECLAIM: ReclaimFamily.open,
    IRQ: IrqFamily.open,
    ALLOCATOR: AllocatorFamily.open,
    SLAB: SlabFamily.open,
    MIGRATE: MigrateFamily.open,
    MIGRATE_NODES: MigrateFamily.open_with_nodes,
}
FAMILY_NAMES = tuple(FAMILIES)


@dataclass
class OpenedFamilies:
    families: list[ProbeFamily] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # family -> why
    reasons: dict[str, str] = field(default_factory=dict)  # family -> reason code


def open_families(names: Collection[str], at: FamilyContext) -> OpenedFamilies:
    """Attach the families named in `names`, in FAMILIES order; one that cannot
    attach is left out, with one line on stderr."""
    opened = OpenedFamilies()
    if MIGRATE_NODES in names:  # one migrate family: the one with nodes
        names = [n for n in names if n != MIGRATE]
    for name, open_family in FAMILIES.items():
        if name not in names:
            continue
        try:
            family = open_family(dataclasses.replace(at, opened=tuple(opened.families)))
        except NumascopeError as exc:
            opened.failed[name] = str(exc)
            opened.reasons[name] = reason_of(exc)
            print(f"numascope: probe family {name} left out: {exc}", file=sys.stderr)
        else:
            opened.families.append(family)
    return opened
