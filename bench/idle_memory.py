"""What touching memory costs after the process slept, on this machine.

The collector polls once a second and sleeps in between. Here, a numpy operation
on memory untouched for 0.1 s or more costs several times what the same
operation costs back to back, so a poll's cost follows the bytes it touches more
than the operations it makes. This prints, for the collector's commonest
operation (adding 10,000 drained rows of 16 counters into a totals array at
their rows), the median time after a pause, and once more straight after, for
rows in random and in ascending order.

    .venv/bin/python bench/idle_memory.py [--rows 10000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

WIDTH = 16  # counters per owner row on a one-node host: events and pages, 8 slots each


def timed_ms(operation: object) -> float:
    started = time.perf_counter()
    operation()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    counts = np.ones((args.rows, WIDTH), dtype=np.int64)
    orders = {"random": rng.permutation(args.rows), "ascending": np.arange(args.rows)}
    print(f"{args.rows:,} rows of {WIDTH} int64 counters added into a totals array at their rows")
    print()
    print("| rows | pause before, s | first add, ms (median) | second add, ms |")
    print("|---|---:|---:|---:|")
    for name, rows in orders.items():
        totals = np.zeros((args.rows * 3 // 2, WIDTH), dtype=np.int64)

        def add(totals: np.ndarray = totals, rows: np.ndarray = rows) -> None:
            totals[rows] += counts

        for pause in (0.0, 0.1, 1.0):
            first, second = [], []
            for _ in range(args.rounds):
                time.sleep(pause)
                first.append(timed_ms(add))
                second.append(timed_ms(add))
            print(
                f"| {name} | {pause:g} | {statistics.median(first):.2f} "
                f"| {statistics.median(second):.2f} |"
            )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
