"""Frame update time of `numascope top` with many workloads; prints figures.

    .venv/bin/python bench/tui_frame.py [--workloads 5000] [--frames 20]

Runs the real app headless (Textual's test driver) at 160x50 and times, per
frame, from the snapshot's arrival to the end of the next screen refresh:
building rows, sorting, filling the table and the panels, and rendering. It
prints wall time and the process's CPU time per frame: on a busy machine the CPU
time is the steadier figure.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.streams import many_workloads

from numascope.tui.app import TopApp
from numascope.tui.feed import Feed, Frame
from numascope.tui.messages import FeedFailed, FrameReady
from numascope.tui.rows import Placements


class IdleFeed(Feed):
    """The benchmark hands frames to the app itself, so the feed does nothing."""

    finished = False

    def start(self, post: object) -> None: ...
    def set_paused(self, paused: bool) -> None: ...
    def set_interval(self, seconds: float) -> None: ...
    def stop(self) -> None: ...


async def measure(workloads: int, frames: int, size: tuple[int, int]) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds) per frame after the first."""
    app = TopApp(IdleFeed(), interval=1.0, mode="bench")
    rules = {f"pid:{10_000 + i}": "default: local" for i in range(workloads)}
    placements = Placements(rules, {10_000 + i: "default" for i in range(workloads)})
    snaps = [many_workloads(workloads, seq) for seq in range(1, frames + 2)]
    times = []
    async with app.run_test(size=size) as pilot:
        for i, snap in enumerate(snaps):
            started, cpu = time.perf_counter(), time.process_time()
            app.post_message(FrameReady(Frame(snap, placements)))
            await pilot.pause()  # processes the message, then waits for the refresh
            if i:  # the first frame also builds the columns: report it apart
                times.append((time.perf_counter() - started, time.process_time() - cpu))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=5000)
    parser.add_argument("--frames", type=int, default=20)
    args = parser.parse_args()
    for size in ((160, 50), (80, 24)):
        measured = asyncio.run(measure(args.workloads, args.frames, size))
        times = sorted(wall for wall, _ in measured)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        cpu = statistics.median(c for _, c in measured)
        print(
            f"{args.workloads} workloads, {size[0]}x{size[1]}, {len(times)} frames: "
            f"median {1000 * statistics.median(times):.0f} ms, p95 {1000 * p95:.0f} ms, "
            f"max {1000 * times[-1]:.0f} ms; CPU median {1000 * cpu:.0f} ms"
        )
    _ = FeedFailed  # the app's other message, unused here


if __name__ == "__main__":
    main()
