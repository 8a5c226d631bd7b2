"""Stand-ins with bcc's table interface for the page-allocation maps.

Only for unit tests of the collector's bookkeeping; the same collector runs
against the real maps in tests/kernel/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


def counts(slots: int, values: dict[int, tuple[int, int]] | None = None, comm: bytes = b"") -> Any:
    events = [0] * slots
    pages = [0] * slots
    for slot, (ev, pg) in (values or {}).items():
        events[slot], pages[slot] = ev, pg
    return SimpleNamespace(comm=comm.ljust(16, b"\0"), events=events, pages=pages)


def key(tgid: int, context: int = 0, cgroup_id: int = 1, cpu_node: int = 0) -> Any:
    return SimpleNamespace(tgid=tgid, context=context, cgroup_id=cgroup_id, cpu_node=cpu_node)


class ArrayTable:
    def __init__(self, size: int, make: Any) -> None:
        self.make = make
        self.values = [make() for _ in range(size)]

    def Leaf(self, *args: Any) -> Any:  # noqa: N802 - bcc's name
        return args[0] if args else self.make()

    def __getitem__(self, index: int) -> Any:
        return self.values[index]

    def __setitem__(self, index: int, value: Any) -> None:
        self.values[index] = value


@dataclass
class HashTable:
    entries: dict[tuple[int, int, int, int], tuple[Any, Any]] = field(default_factory=dict)

    def put(self, k: Any, v: Any) -> None:
        self.entries[(k.tgid, k.context, k.cgroup_id, k.cpu_node)] = (k, v)

    def items_lookup_and_delete_batch(self) -> Iterator[tuple[Any, Any]]:
        items = list(self.entries.values())
        self.entries.clear()
        yield from items


class PerCpuArray:
    def __init__(self, cpus: int, slots: int) -> None:
        self.states = [
            SimpleNamespace(seq=0, active=0, owner=key(0), counts=counts(slots))
            for _ in range(cpus)
        ]

    def __getitem__(self, index: int) -> list[Any]:
        return self.states


class FakeTables:
    """owners0/owners1/overflow/epoch/cpu_state, as the probe declares them."""

    def __init__(self, node_slots: int, order_classes: int = 4, cpus: int = 2) -> None:
        self.slots = node_slots * order_classes
        self.tables: dict[str, Any] = {
            "owners0": HashTable(),
            "owners1": HashTable(),
            "epoch": ArrayTable(1, lambda: 0),
            "overflow": ArrayTable(2 * node_slots, lambda: counts(self.slots)),
            "cpu_state": PerCpuArray(cpus, self.slots),
        }

    def __getitem__(self, name: str) -> Any:
        return self.tables[name]

    @property
    def active_owners(self) -> HashTable:
        """The buffer the programs write to now."""
        generation = self.tables["epoch"][0] >> 1
        return self.tables[f"owners{generation & 1}"]  # type: ignore[no-any-return]

    def flush(self, k: Any, v: Any) -> None:
        """What a program's flush does: add into the active buffer."""
        table = self.active_owners
        existing = table.entries.get((k.tgid, k.context, k.cgroup_id, k.cpu_node))
        if existing is None:
            table.put(k, v)
            return
        _, old = existing
        old.events = [a + b for a, b in zip(old.events, v.events, strict=True)]
        old.pages = [a + b for a, b in zip(old.pages, v.pages, strict=True)]

    def cache(self, cpu: int, k: Any, v: Any, seq: int = 2) -> None:
        """Put an owner in a CPU's slot, not yet flushed."""
        state = self.tables["cpu_state"].states[cpu]
        state.seq, state.active, state.owner, state.counts = seq, 1, k, v


def migrate_counts(
    node_slots: int,
    comm: bytes = b"",
    calls: int = 0,
    succeeded: int = 0,
    failed: int = 0,
    thp: tuple[int, int, int] = (0, 0, 0),
    sources: dict[int, int] | None = None,
    targets: dict[int, int] | None = None,
) -> Any:
    """One CPU's value of the migrate family's `migrations` map."""
    src, dst = [0] * node_slots, [0] * node_slots
    for slot, pages in (sources or {}).items():
        src[slot] = pages
    for slot, pages in (targets or {}).items():
        dst[slot] = pages
    return SimpleNamespace(
        comm=comm.ljust(16, b"\0"),
        calls=calls,
        succeeded=succeeded,
        failed=failed,
        thp_succeeded=thp[0],
        thp_failed=thp[1],
        thp_split=thp[2],
        sources=src,
        targets=dst,
    )


def task_move_counts(comm: bytes = b"", events: int = 0) -> Any:
    """One CPU's value of the migrate family's `task_moves` map."""
    return SimpleNamespace(comm=comm.ljust(16, b"\0"), events=events)


class TaskMoveTables:
    """`task_moves` (per-CPU hash by tgid, outcome, node) and its overflow by outcome."""

    def __init__(self, cpus: int = 2) -> None:
        self.cpus = cpus
        self.rows: dict[tuple[int, int, int], list[Any]] = {}
        self.overflow = [[task_move_counts() for _ in range(cpus)] for _ in range(3)]

    def put(self, tgid: int, outcome: int, to_nid: int, cpu: int, value: Any) -> None:
        key = (tgid, outcome, to_nid)
        per_cpu = self.rows.setdefault(key, [task_move_counts() for _ in range(self.cpus)])
        per_cpu[cpu] = value

    def items(self) -> list[tuple[Any, list[Any]]]:
        return [
            (SimpleNamespace(tgid=t, outcome=o, to_nid=n), per_cpu)
            for (t, o, n), per_cpu in self.rows.items()
        ]


class MigrateTables:
    """`migrations` (per-CPU hash) and `migrate_overflow` (per-CPU array by reason),
    and the task moves' maps (`tasks`)."""

    def __init__(self, node_slots: int, cpus: int = 2, reasons: int = 16) -> None:
        self.node_slots, self.cpus = node_slots, cpus
        self.rows: dict[tuple[int, int], list[Any]] = {}
        self.overflow = [[migrate_counts(node_slots) for _ in range(cpus)] for _ in range(reasons)]
        self.tasks = TaskMoveTables(cpus)

    def put(self, tgid: int, reason: int, cpu: int, value: Any) -> None:
        per_cpu = self.rows.setdefault(
            (tgid, reason), [migrate_counts(self.node_slots) for _ in range(self.cpus)]
        )
        per_cpu[cpu] = value

    def items(self) -> list[tuple[Any, list[Any]]]:
        return [
            (SimpleNamespace(tgid=t, reason=r), per_cpu) for (t, r), per_cpu in self.rows.items()
        ]

    def __getitem__(self, name: str) -> Any:
        return {
            "migrations": self,
            "migrate_overflow": self.overflow,
            "task_moves": self.tasks,
            "task_move_overflow": self.tasks.overflow,
        }[name]
