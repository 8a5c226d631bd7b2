"""What touching memory costs after the process slept, on this machine.

The collector polls once a second and sleeps in between. Here, a numpy operation
on memory untouched for 0.1 s or more costs several times what the same
operation costs back to back, so a poll's cost follows the bytes it touches more
than the operations it makes. This prints, for the collector's commonest
operation (adding 10,000 drained rows of 16 counters into a totals array at
their rows), the median time after a pause, and once more straight after, for
rows in random and in ascending order; then with no pause but 64 MiB written
in between (what evicting the caches alone costs), and with the totals on a
2 MiB huge page (madvise) after a pause.

    .venv/bin/python bench/idle_memory.py [--rows 10000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import mmap
import statistics
import sys
import time
from pathlib import Path

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
    shape = (args.rows * 3 // 2, WIDTH)
    junk = np.zeros(64 << 20, dtype=np.uint8)
    cases: list[tuple[str, np.ndarray, np.ndarray, float, bool]] = []
    for name, rows in orders.items():
        for pause in (0.0, 0.1, 1.0):
            cases.append((name, rows, np.zeros(shape, dtype=np.int64), pause, False))
    cases.append(
        ("random, 64 MiB written between", orders["random"], np.zeros(shape, np.int64), 0, True)
    )
    huge, region = huge_page_array(shape)
    cases.append(("random, totals on a huge page", orders["random"], huge, 1.0, False))
    for name, rows, totals, pause, evict in cases:
        first, second = [], []
        for _ in range(args.rounds):
            time.sleep(pause)
            if evict:
                junk += 1

            def add(totals: np.ndarray = totals, rows: np.ndarray = rows) -> None:
                totals[rows] += counts

            first.append(timed_ms(add))
            second.append(timed_ms(add))
        print(
            f"| {name} | {pause:g} | {statistics.median(first):.2f} "
            f"| {statistics.median(second):.2f} |"
        )
    print()
    print(f"huge pages the process holds (AnonHugePages): {anon_huge_kib()} KiB")
    del region  # held until here: the huge-page totals live in it
    sys.stdout.flush()
    return 0


def anon_huge_kib() -> int:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


def huge_page_array(shape: tuple[int, int]) -> tuple[np.ndarray, mmap.mmap]:
    """A zeroed int64 array on its own 2 MiB-aligned anonymous mapping, with
    MADV_HUGEPAGE asked for (transparent huge pages in `madvise` mode)."""
    size = shape[0] * shape[1] * 8
    huge = 2 << 20
    region = mmap.mmap(-1, (size + huge - 1) // huge * huge + huge)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        region.madvise(mmap.MADV_HUGEPAGE)
    start = np.frombuffer(region, dtype=np.uint8)
    offset = (-start.ctypes.data) % huge
    array = np.frombuffer(region, dtype=np.int64, count=shape[0] * shape[1], offset=offset)
    array = array.reshape(shape)
    array[:] = 0
    return array, region


if __name__ == "__main__":
    sys.exit(main())
