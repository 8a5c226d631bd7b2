"""Attribute owner totals to workloads, cgroups, nodes and the node matrix.

An allocation is *local* when the page came from the node of the CPU that asked
for it, *remote* otherwise (a page on a node unknown at compile time counts as
remote, and shows under node -1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from numascope.collectors.names import (
    CgroupResolver,
    decode_comm,
    is_kernel_thread,
    softirq_name,
)
from numascope.collectors.page_alloc import (
    CTX_EXITED,
    CTX_HARDIRQ,
    CTX_OVERFLOW,
    CTX_SOFTIRQ,
    OwnerKey,
    OwnerTotals,
)
from numascope.probes.page_alloc import PageAllocLayout
from numascope.snapshot import (
    ORDER_CLASSES,
    Locality,
    MatrixCell,
    NodeStats,
    Workload,
    WorkloadKind,
)
from numascope.topology import Topology


@dataclass
class _Acc:
    pages_by_node: dict[int, int] = field(default_factory=dict)
    events_by_node: dict[int, int] = field(default_factory=dict)
    local_pages: int = 0
    remote_pages: int = 0
    local_events: int = 0
    remote_events: int = 0

    def add(self, page_node: int, pages: int, events: int, local: bool) -> None:
        self.pages_by_node[page_node] = self.pages_by_node.get(page_node, 0) + pages
        self.events_by_node[page_node] = self.events_by_node.get(page_node, 0) + events
        if local:
            self.local_pages += pages
            self.local_events += events
        else:
            self.remote_pages += pages
            self.remote_events += events

    def locality(self) -> Locality:
        return Locality(
            pages_by_node=self.pages_by_node,
            events_by_node=self.events_by_node,
            local_pages=self.local_pages,
            remote_pages=self.remote_pages,
            local_events=self.local_events,
            remote_events=self.remote_events,
        )


def subtract(now: Locality, before: Locality | None) -> Locality:
    """What `now` added over `before` (everything, for a new row)."""
    if before is None:
        return now

    def minus(a: Mapping[int, int], b: Mapping[int, int]) -> dict[int, int]:
        return {k: v - b.get(k, 0) for k, v in a.items()}

    return Locality(
        pages_by_node=minus(now.pages_by_node, before.pages_by_node),
        events_by_node=minus(now.events_by_node, before.events_by_node),
        local_pages=now.local_pages - before.local_pages,
        remote_pages=now.remote_pages - before.remote_pages,
        local_events=now.local_events - before.local_events,
        remote_events=now.remote_events - before.remote_events,
    )


@dataclass(frozen=True)
class _Identity:
    key: str
    kind: WorkloadKind
    name: str
    pid: int | None


@dataclass
class Attribution:
    """The attributed view of one poll."""

    nodes: tuple[NodeStats, ...]
    matrix: tuple[MatrixCell, ...]
    processes: tuple[Workload, ...]
    cgroups: tuple[Workload, ...]


@dataclass
class Attributor:
    topology: Topology
    layout: PageAllocLayout
    proc: Path = Path("/proc")
    sysfs: Path = Path("/sys")
    cgroups: CgroupResolver = field(default_factory=CgroupResolver)
    _kthread: dict[int, bool] = field(default_factory=dict)
    _previous: dict[str, Locality] = field(default_factory=dict)
    _previous_matrix: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def attribute(
        self, owners: Mapping[OwnerKey, OwnerTotals], alive: set[int], now: float
    ) -> Attribution:
        workloads: dict[str, _Acc] = {}
        identities: dict[str, _Identity] = {}
        cgroup_of: dict[str, str | None] = {}
        cgroup_accs: dict[str, _Acc] = {}
        node_accs = {n: _Acc() for n in self.topology.node_ids}
        node_orders = {n: [0] * len(ORDER_CLASSES) for n in self.topology.node_ids}
        matrix: dict[tuple[int, int], list[int]] = {}
        split = self.layout.split
        for owner, totals in owners.items():
            identity = self._identify(owner, totals.comm)
            acc = workloads.get(identity.key)
            if acc is None:
                acc = workloads[identity.key] = _Acc()
                identities[identity.key] = identity
            cgroup_acc = None
            if owner.cgroup_id:
                path = self.cgroups.path(owner.cgroup_id, now) or f"id:{owner.cgroup_id}"
                cgroup_of[identity.key] = path
                cgroup_acc = cgroup_accs.setdefault(path, _Acc())
            for slot, events in enumerate(totals.events):
                if not events:
                    continue
                page_node, order_class = split(slot)
                pages = totals.pages[slot]
                local = page_node == owner.cpu_node
                acc.add(page_node, pages, events, local)
                if cgroup_acc is not None:
                    cgroup_acc.add(page_node, pages, events, local)
                if page_node in node_accs:
                    node_accs[page_node].add(owner.cpu_node, pages, events, local)
                    node_orders[page_node][order_class] += pages
                cell = matrix.setdefault((owner.cpu_node, page_node), [0, 0])
                cell[0] += pages
                cell[1] += events
        processes = tuple(
            self._workload(
                identities[k],
                acc,
                cgroup_of.get(k),
                identities[k].pid is None or identities[k].pid in alive,
            )
            for k, acc in workloads.items()
        )
        cgroups = tuple(
            self._workload(
                _Identity(f"cgroup:{path}", WorkloadKind.CGROUP, path, None), acc, path, True
            )
            for path, acc in cgroup_accs.items()
        )
        return Attribution(
            nodes=tuple(self._node(n, acc, node_orders[n]) for n, acc in node_accs.items()),
            matrix=self._matrix(matrix),
            processes=processes,
            cgroups=cgroups,
        )

    def _identify(self, owner: OwnerKey, comm: bytes) -> _Identity:
        kind = owner.kind
        if kind == CTX_HARDIRQ:
            irq = owner.context_id
            return _Identity(f"irq:{irq}", WorkloadKind.HARDIRQ, self._irq_name(irq), None)
        if kind == CTX_SOFTIRQ:
            name = softirq_name(owner.context_id)
            return _Identity(f"softirq:{name}", WorkloadKind.SOFTIRQ, f"[softirq:{name}]", None)
        if kind == CTX_OVERFLOW:
            return _Identity("other", WorkloadKind.OTHER, "[other: owner map full]", None)
        if kind == CTX_EXITED:
            return _Identity("exited", WorkloadKind.OTHER, "[exited processes]", None)
        pid = owner.tgid
        kthread = self._kthread.get(pid)
        if kthread is None:
            found = is_kernel_thread(pid, self.proc)
            kthread = bool(found)
            if found is not None:  # a vanished pid may be reused: ask again later
                self._kthread[pid] = kthread
        kind_name = WorkloadKind.KTHREAD if kthread else WorkloadKind.PROCESS
        return _Identity(f"pid:{pid}", kind_name, decode_comm(comm) or "?", pid)

    def _irq_name(self, irq: int) -> str:
        try:
            actions = (self.sysfs / "kernel/irq" / str(irq) / "actions").read_text().strip()
        except OSError:
            actions = ""
        return f"[irq:{irq} {actions}]" if actions else f"[irq:{irq}]"

    def _workload(
        self, identity: _Identity, acc: _Acc, cgroup: str | None, alive: bool
    ) -> Workload:
        total = acc.locality()
        delta = subtract(total, self._previous.get(identity.key))
        self._previous[identity.key] = total
        return Workload(
            key=identity.key,
            kind=identity.kind,
            name=identity.name,
            total=total,
            delta=delta,
            pid=identity.pid,
            cgroup=cgroup,
            alive=alive,
        )

    def _node(self, node_id: int, acc: _Acc, orders: list[int]) -> NodeStats:
        # For a node, pages_by_node holds pages by *requesting CPU node*.
        total = acc.locality()
        key = f"node:{node_id}"
        delta = subtract(total, self._previous.get(key))
        self._previous[key] = total
        node = self.topology.node(node_id)
        return NodeStats(
            node=node_id,
            total=total,
            delta=delta,
            pages_by_order=dict(zip(ORDER_CLASSES, orders, strict=True)),
            cpus=node.cpus,
            mem_total_bytes=node.mem_total_bytes,
            mem_free_bytes=node.mem_free_bytes,
        )

    def _matrix(self, cells: dict[tuple[int, int], list[int]]) -> tuple[MatrixCell, ...]:
        out = []
        for (cpu_node, page_node), (pages, events) in sorted(cells.items()):
            before = self._previous_matrix.get((cpu_node, page_node), (0, 0))
            self._previous_matrix[(cpu_node, page_node)] = (pages, events)
            out.append(
                MatrixCell(
                    cpu_node=cpu_node,
                    page_node=page_node,
                    total_pages=pages,
                    delta_pages=pages - before[0],
                    total_events=events,
                    delta_events=events - before[1],
                )
            )
        return tuple(out)

    def forget(self, keys: set[str]) -> None:
        for key in keys:
            self._previous.pop(key, None)
