"""The registry `numascope export` serves: numascope's families and the process's own."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.registry import CollectorRegistry

from numascope.exporters.prometheus.budgeted import BudgetedCounters
from numascope.exporters.prometheus.collector import SnapshotCollector
from numascope.exporters.prometheus.families import ScrapeState


def exporter_registry(
    state: Callable[[], ScrapeState], counters: BudgetedCounters | None = None
) -> CollectorRegistry:
    """numascope's families plus prometheus_client's standard process_* (CPU seconds,
    resident memory, open descriptors, start time) and python_* (interpreter, garbage
    collections) families, as every Prometheus exporter serves them: numascope's own
    cost is then queried the same way as any other exporter's. `counters` are the
    budgeted families the poller steps (see SnapshotCollector)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(state, counters))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
