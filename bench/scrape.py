"""Scrape cost at scale: `python bench/scrape.py [WORKLOADS]`.

Builds one snapshot with WORKLOADS processes (and as many cgroups), times the
step of the budgeted counters that the poller runs once per poll, then scrapes
it through the real collector and prints the time of each scrape and the
process's peak RSS. Then the same for ten new snapshots whose workloads are columns, as
the live collector hands them over, each scraped once: a live exporter's scrape
is the first to read its snapshot's rows, and pays for building them.
Figures go to BENCHMARKS.md; tests never time anything.
"""

from __future__ import annotations

import dataclasses
import resource
import sys
import time
from collections.abc import Callable

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from numascope.config import Config
from numascope.exporters.prometheus.budgeted import BudgetedCounters
from numascope.exporters.prometheus.collector import SnapshotCollector
from numascope.exporters.prometheus.families import ScrapeState
from numascope.snapshot.columns import as_new_columns
from numascope.snapshot.model import HostInfo, Locality, NodeStats, Snapshot, Workload, WorkloadKind


def synthetic(workloads: int) -> Snapshot:
    def loc(i: int) -> Locality:
        return Locality(
            {0: 1000 + i, 1: i % 977},
            {0: 1000 + i, 1: i % 977},
            1000 + i,
            i % 977,
            1000 + i,
            i % 977,
        )

    procs = tuple(
        Workload(
            f"pid:{i}",
            WorkloadKind.PROCESS,
            f"worker-{i}",
            loc(i),
            loc(i),
            pid=i,
            cgroup=f"/bench/{i}",
        )
        for i in range(1, workloads + 1)
    )
    cgroups = tuple(
        Workload(
            f"cgroup:/bench/{i}",
            WorkloadKind.CGROUP,
            f"/bench/{i}",
            loc(i),
            loc(i),
            cgroup=f"/bench/{i}",
        )
        for i in range(1, workloads + 1)
    )
    nodes = tuple(NodeStats(n, Locality(), Locality(), cpus=(n,)) for n in (0, 1))
    return Snapshot(
        1, time.time(), 1.0, "bench", HostInfo(), nodes, processes=procs, cgroups=cgroups
    )


def scrape_times(make: Callable[[], ScrapeState], scrapes: int = 10) -> tuple[list[float], int]:
    """Seconds of each scrape of a state made afresh before it (not timed), and
    the body's size."""
    current = make()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(lambda: current))
    times = []
    size = 0
    for _ in range(scrapes):
        current = make()
        started = time.perf_counter()
        size = len(generate_latest(registry))
        times.append(time.perf_counter() - started)
    return times, size


def step_times(snapshot: Snapshot, steps: int = 10) -> list[float]:
    """Seconds of each per-poll step of the budgeted families (`BudgetedCounters.
    advance`, which the poller runs once per snapshot), on new columnar
    snapshots made before the clock starts, each a poll later than the last."""
    counters = BudgetedCounters()
    limit = Config().prometheus.workload_limit
    times = []
    for seq in range(1, steps + 2):
        polled = dataclasses.replace(
            snapshot,
            seq=seq,
            processes=as_new_columns(snapshot.processes),
            cgroups=as_new_columns(snapshot.cgroups),
        )
        started = time.perf_counter()
        counters.advance(polled, limit)
        times.append(time.perf_counter() - started)
    return times[1:]  # the first step is the baseline: nothing is named yet


def main() -> None:
    workloads = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    snapshot = synthetic(workloads)

    def same() -> ScrapeState:
        return ScrapeState(snapshot, Config())

    def columnar() -> ScrapeState:
        # A new one for every scrape, as a poll replaces the last.
        return ScrapeState(
            dataclasses.replace(
                snapshot,
                processes=as_new_columns(snapshot.processes),
                cgroups=as_new_columns(snapshot.cgroups),
            ),
            Config(),
        )

    steps = sorted(step_times(snapshot))
    print(
        f"budgeted counters step per poll: workloads={workloads} steps=10 "
        f"median={steps[5] * 1000:.1f} ms min={steps[0] * 1000:.1f} ms "
        f"max={steps[-1] * 1000:.1f} ms"
    )
    for label, make in (("one snapshot", same), ("new columnar snapshots", columnar)):
        times, size = scrape_times(make)
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        times.sort()
        print(
            f"{label}: workloads={workloads} scrapes=10 median={times[5] * 1000:.1f} ms "
            f"min={times[0] * 1000:.1f} ms max={times[-1] * 1000:.1f} ms "
            f"body={size} bytes peak_rss={rss_mib:.1f} MiB"
        )


if __name__ == "__main__":
    main()
