"""The prometheus_client collector: fresh families from the latest snapshot per scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from numascope.exporters.prometheus.budget import LabelBudget
from numascope.exporters.prometheus.families import ScrapeState, build_families


class SnapshotCollector(Collector):
    """Reads `state()` at each scrape and builds every family anew.

    Nothing is kept between scrapes but the label budget's memory of which
    workloads have series, so a metric vanishes as soon as its workload does.
    """

    def __init__(self, state: Callable[[], ScrapeState]) -> None:
        self._state = state
        self._processes = LabelBudget()
        self._cgroups = LabelBudget()

    def collect(self) -> Iterator[Metric]:
        yield from build_families(self._state(), self._processes, self._cgroups)
