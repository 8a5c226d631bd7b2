"""log2 histogram slots from a BPF map to cumulative buckets in seconds.

Slot i of a kernel histogram holds observations v (in the program's unit,
microseconds here) with floor(log2(v)) + 1 == i, slot 0 holding v == 0. So
every observation in slot i is below 2^i units, and the cumulative bucket
"le 2^i units" is the sum of slots 0..i. Every slot becomes a bucket, empty or
not, so a series has the same buckets at every scrape.
"""

from __future__ import annotations

from collections.abc import Sequence

from numascope.snapshot.sections import Histogram


def bucket_bounds(slots: int, unit_seconds: float) -> tuple[float, ...]:
    """Upper bound in seconds of each slot's bucket; the last one is +Inf."""
    bounds = [(1 << i) * unit_seconds for i in range(slots - 1)]
    return (*bounds, float("inf"))


def log2_histogram(counts: Sequence[int], unit_seconds: float, sum_seconds: float) -> Histogram:
    """Cumulative seconds buckets from log2 slot counts (the last slot is open-ended)."""
    if not counts:
        return Histogram(sum_seconds=sum_seconds)
    running = 0
    buckets = []
    for bound, n in zip(bucket_bounds(len(counts), unit_seconds), counts, strict=True):
        running += n
        buckets.append((bound, running))
    return Histogram(buckets=tuple(buckets), count=running, sum_seconds=sum_seconds)


def add_slots(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """Slot-wise sum; the shorter side counts as zeros."""
    width = max(len(a), len(b))
    return [(a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(width)]
