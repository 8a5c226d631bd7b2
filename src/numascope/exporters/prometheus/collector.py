"""The prometheus_client collector: fresh families from the latest snapshot per scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from numascope.exporters.prometheus.budgeted import BudgetedCounters
from numascope.exporters.prometheus.families import ScrapeState, build_families


class SnapshotCollector(Collector):
    """Reads `state()` at each scrape and builds every family anew.

    The budgeted families (workloads, cgroups, call sites, slab caches) come
    from `counters`, which the poller steps once per snapshot and scrapes only
    read; a collector given none (tests, a one-off scrape) keeps its own and
    steps it for each new snapshot it reads.
    """

    def __init__(
        self, state: Callable[[], ScrapeState], counters: BudgetedCounters | None = None
    ) -> None:
        self._state = state
        self._steps = counters is None
        self.counters = counters or BudgetedCounters()

    def collect(self) -> Iterator[Metric]:
        counters = self.counters
        yield from build_families(self._state(), counters.advance if self._steps else counters.read)
