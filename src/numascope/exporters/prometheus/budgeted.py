"""Every family cut by a label budget or a top-N, stepped through a ledger per poll.

Four families name only some of their rows: workloads and cgroups (the label
budget, `prometheus.workload-limit`), high-order call sites and slab caches
(top-N). Each is stepped through its own `CounterLedger` once per snapshot, so
its series add up to the family's growth (see ledger.py), and two Prometheus
servers scraping the same exporter read the same values: a scrape reads the
last step, it never makes one.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from numascope.exporters.call_sites import call_site
from numascope.exporters.prometheus.budget import OTHER, LabelBudget
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.exporters.prometheus.ledger import CounterLedger, LedgerView, Values
from numascope.exporters.prometheus.migration_series import MIGRATION_LIMIT, migration_totals
from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import PodIdentity, Snapshot, Workload, WorkloadKind
from numascope.snapshot.sections import HighOrderSite, SlabCache

# Series of their own for this many call sites (site, workload) and slab caches.
SITE_LIMIT = 10
SLAB_CACHE_LIMIT = 20

# Frozen series (a row that left the budget, see ledger.py) kept per family: as
# many as the budget, and at least this many, so that a small budget that churns
# does not end series inside the windows that Prometheus stretches them over.
MIN_LINGERING = 50

Labels = tuple[str, ...]
# The label values of a row of a WorkloadColumns (read from its columns: no
# Workload is built for it).
LabelsOf = Callable[[WorkloadColumns, int], Labels]
SPLIT = ("local_pages", "remote_pages", "local_events", "remote_events")
REQUESTED = ("any", "local", "remote")
FAMILIES = ("processes", "cgroups", "sites", "slab", "migrations", "balancing")


@dataclass(frozen=True)
class FamilySeries:
    """One family's series after a step (the ledger's view; its labels are the
    label values each series' key gives) and how many rows were folded."""

    view: LedgerView
    folded: int

    def rows(self, other: Labels) -> list[tuple[Labels, Values]]:
        """(key labels, values per column) of every series, "other" last."""
        labels = cast(tuple[Labels, ...], self.view.labels)
        out = list(zip(labels, self.view.values, strict=True))
        out.append((other, self.view.other))
        return out


@dataclass(frozen=True)
class Exposure:
    """The budgeted families' series for one snapshot (None: no such section)."""

    seq: int
    processes: FamilySeries
    cgroups: FamilySeries
    sites: FamilySeries | None
    slab: FamilySeries | None
    migrations: FamilySeries | None = None
    balancing: FamilySeries | None = None  # pages NUMA balancing migrated, per process


def workload_columns(node_ids: Sequence[int]) -> tuple[Hashable, ...]:
    """Ledger columns of a WorkloadColumns row: pages and events by node, the split."""
    return (
        *(("pages", n) for n in node_ids),
        *(("events", n) for n in node_ids),
        *SPLIT,
    )


class BudgetedCounters:
    """The four budgeted families' ledgers and label budgets (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets = {name: LabelBudget() for name in FAMILIES}
        self._ledgers = {name: CounterLedger() for name in self._budgets}
        self._recent: dict[int, Exposure] = {}  # by sequence number: the last two steps
        self._last_seq: int | None = None

    def advance(self, snapshot: Snapshot, limit: int) -> Exposure:
        """The series after `snapshot`: stepped once per snapshot sequence number.

        The poller steps every snapshot before it stores it; a scrape asks again
        for the one it read and gets that same step, also when it read the
        previous snapshot just before the poller stepped the next one, so the
        budgeted families of a scrape always match its host counters. Any other
        sequence number is a new step, even a lower one (a source that started
        again)."""
        with self._lock:
            known = self._recent.get(snapshot.seq)
            if known is not None:
                return known
            section = snapshot.allocator
            exposure = Exposure(
                snapshot.seq,
                self._workloads("processes", snapshot, limit, _process_labels),
                self._workloads("cgroups", snapshot, limit, _cgroup_labels),
                None if section is None else self._sites(section.high_order_sites, snapshot.time),
                None if section is None else self._slab(section.slab_caches, snapshot.time),
                self._migrations(snapshot),
                self._balancing(snapshot, limit),
            )
            # This step and the one before it: what a scrape can still be reading.
            last = self._recent.get(self._last_seq) if self._last_seq is not None else None
            self._recent = {snapshot.seq: exposure}
            if last is not None and last.seq != snapshot.seq:
                self._recent[last.seq] = last
            self._last_seq = snapshot.seq
            return exposure

    def read(self, snapshot: Snapshot, limit: int) -> Exposure:
        """The step of `snapshot` for a scrape, never a new step when the poller
        has stepped one already: a scrape holding a snapshot older than the last
        two steps (a very slow one) reads the latest step rather than step back."""
        with self._lock:
            known = self._recent.get(snapshot.seq)
            latest = self._recent.get(self._last_seq) if self._last_seq is not None else None
        if known is not None:
            return known
        return latest if latest is not None else self.advance(snapshot, limit)

    def _workloads(
        self, family: str, snapshot: Snapshot, limit: int, labels: LabelsOf
    ) -> FamilySeries:
        workloads: Sequence[Workload] = getattr(snapshot, family)
        table = WorkloadColumns.of(workloads)
        named = self._budgets[family].named_rows(table, limit)
        ledger = self._ledgers[family]
        ledger.max_lingering = max(limit, MIN_LINGERING)
        view = ledger.step(
            table.keys,
            table.counts,
            workload_columns(table.node_ids),
            named,
            [labels(table, i) for i in named],
            snapshot.time,
        )
        return FamilySeries(view, len(table) - len(named))

    def _sites(self, sites: Sequence[HighOrderSite], now: float) -> FamilySeries:
        # A series per (call site, workload); order class and node are columns.
        totals: dict[Labels, dict[Hashable, float]] = defaultdict(lambda: defaultdict(float))
        for site in sites:
            key = (label_value(call_site(site.frames)), label_value(site.workload_name))
            cell = (site.order_class, node_label(site.node))
            totals[key][(*cell, "pages")] += site.pages.total
            totals[key][(*cell, "events")] += site.events.total
        return self._small("sites", totals, SITE_LIMIT, "pages", now)

    def _slab(self, caches: Sequence[SlabCache], now: float) -> FamilySeries:
        totals: dict[Labels, dict[Hashable, float]] = defaultdict(lambda: defaultdict(float))
        for c in caches:
            cells = totals[(label_value(c.cache),)]
            cpu_node = node_label(c.cpu_node)
            for requested, count in zip(
                REQUESTED, (c.any_node, c.local_requested, c.remote_requested), strict=True
            ):
                cells[(cpu_node, requested)] += count.total
        return self._small("slab", totals, SLAB_CACHE_LIMIT, None, now)

    def _migrations(self, snapshot: Snapshot) -> FamilySeries | None:
        if snapshot.migrations is None:
            return None
        totals = migration_totals(snapshot.migrations)
        return self._small("migrations", totals, MIGRATION_LIMIT, None, snapshot.time)

    def _balancing(self, snapshot: Snapshot, limit: int) -> FamilySeries | None:
        # numa_pages_migrated of each process read, ranked by it: the same ledger
        # as the other families, so a process first named counts from 0.
        if snapshot.balancing is None:
            return None
        totals: dict[Labels, dict[Hashable, float]] = {
            (label_value(p.name), str(p.pid)): {("pages",): p.pages_migrated}
            for p in snapshot.balancing.processes
        }
        return self._small("balancing", totals, limit, None, snapshot.time)

    def _small(
        self,
        family: str,
        totals: dict[Labels, dict[Hashable, float]],
        limit: int,
        rank_by: str | None,
        now: float,
    ) -> FamilySeries:
        """A family of a few hundred rows at most, given as dicts: ranked by the
        sum of their columns (or of those whose last part is `rank_by`)."""
        keys = sorted(totals)
        columns = tuple(sorted({c for cells in totals.values() for c in cells}, key=str))
        matrix = np.array(
            [[round(totals[k].get(c, 0)) for c in columns] for k in keys], dtype=np.int64
        ).reshape(len(keys), len(columns))
        picked = [i for i, c in enumerate(columns) if rank_by is None or c[-1] == rank_by]  # type: ignore[index]
        rank = matrix[:, picked].sum(axis=1).tolist()
        named = self._budgets[family].named_by(rank, ["\0".join(k) for k in keys], limit)
        chosen = [keys[i] for i in named]
        ledger = self._ledgers[family]
        ledger.max_lingering = max(limit, MIN_LINGERING)
        view = ledger.step(keys, matrix, columns, named, chosen, now)
        return FamilySeries(view, len(keys) - len(named))


# pod_uid, container_id and qos of a row outside any pod (and of "other"): empty
# values, which the family leaves out altogether on a host without pods.
NO_POD: Labels = ("", "", "")


def _pod_labels(table: WorkloadColumns, row: int) -> Labels:
    pod: PodIdentity | None = table.pods[row] if table.pods is not None else None
    if pod is None:
        return NO_POD
    return (label_value(pod.pod_uid), label_value(pod.container_id), pod.qos)


def _process_labels(table: WorkloadColumns, row: int) -> Labels:
    pid = table.pids[row]
    kind: WorkloadKind = table.kinds[row]
    name = label_value(table.names[row])
    return (name, "" if pid is None else str(pid), kind.value, *_pod_labels(table, row))


def _cgroup_labels(table: WorkloadColumns, row: int) -> Labels:
    return (label_value(table.cgroups[row] or table.names[row]), *_pod_labels(table, row))


OTHER_LABELS: dict[str, Labels] = {
    "processes": (OTHER, "", OTHER, *NO_POD),
    "cgroups": (OTHER, *NO_POD),
    "sites": (OTHER, OTHER),
    "slab": (OTHER,),
    "migrations": (OTHER, "", OTHER),
    "balancing": (OTHER, ""),
}
