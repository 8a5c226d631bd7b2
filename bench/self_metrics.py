"""What the exporter's families about itself cost a scrape; prints figures.

    .venv/bin/python bench/self_metrics.py [--scrapes 2000] [--runs 3]

Times `generate_latest` on a registry holding only prometheus_client's process_*
and python_* collectors (which read /proc/self at each scrape), as
`numascope export` serves them next to numascope's own families, and prints the
median, quartiles and minimum of each run. numascope's per-family and per-program
series are a few dozen samples built from the snapshot, inside the main scrape
benchmark (exporters/prometheus/bench.py).
"""

from __future__ import annotations

import argparse
import statistics
import time

from prometheus_client import GCCollector, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.registry import CollectorRegistry


def one_run(scrapes: int) -> list[float]:
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    times = []
    for _ in range(scrapes):
        started = time.perf_counter()
        generate_latest(registry)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        t = one_run(args.scrapes)
        low, _, high = statistics.quantiles(t, n=4)
        print(
            f"run {run}: process_* and python_* per scrape: median {statistics.median(t):.0f} us, "
            f"quartiles {low:.0f}..{high:.0f} us, min {min(t):.0f} us ({args.scrapes} scrapes)"
        )


if __name__ == "__main__":
    main()
