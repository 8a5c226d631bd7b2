"""The Prometheus exporter: a poller thread, a per-scrape collector and an HTTP server.

Imports only the snapshot model, config and prometheus_client: it runs against a
replayed capture exactly as against the live kernel, without root.
"""

from numascope.exporters.prometheus.budget import LabelBudget
from numascope.exporters.prometheus.budgeted import BudgetedCounters
from numascope.exporters.prometheus.catalogue import METRICS, exposed_names
from numascope.exporters.prometheus.collector import SnapshotCollector
from numascope.exporters.prometheus.families import ScrapeState, build_families
from numascope.exporters.prometheus.poller import Poller
from numascope.exporters.prometheus.registry import exporter_registry
from numascope.exporters.prometheus.server import (
    DEFAULT_MAX_REQUESTS,
    MetricsServer,
    parse_listen_address,
)
from numascope.exporters.prometheus.webconfig import WebConfig, load_web_config

__all__ = [
    "DEFAULT_MAX_REQUESTS",
    "METRICS",
    "BudgetedCounters",
    "LabelBudget",
    "MetricsServer",
    "Poller",
    "ScrapeState",
    "SnapshotCollector",
    "WebConfig",
    "build_families",
    "exporter_registry",
    "exposed_names",
    "load_web_config",
    "parse_listen_address",
]
