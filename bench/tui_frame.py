"""Frame update time of `numascope top` with many workloads; prints figures.

    .venv/bin/python bench/tui_frame.py [--workloads 5000] [--frames 20] [--size 160x50 ...]

Runs the real app headless (Textual's test driver) and times, per frame, from the
snapshot's arrival to the end of the last screen update it caused (the update
handed to the terminal driver): building rows, sorting, the table, the panels,
layout and rendering. Every workload's page counts change in every frame, the
worst case for the table.

Also printed: the first screen update's median (a frame's last update is often
the scroll bar alone, one screen tick after the rest), the process's CPU time per
frame, the steadier figure on a busy machine, and "until idle", the time until
Textual's test driver saw the process idle (`pilot.pause()`). That last one is
what earlier versions of this script reported as the frame: it includes at least
one 20 ms idle window by construction, so it cannot fall below about 30 ms even
for an empty frame.

Each snapshot is built before its frame's clock starts, right after the previous
frame, as the feed thread builds one per poll; only the snapshots the app keeps
(this frame's and the previous one) stay alive, as in a live session.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import RenderableType
from tests.fixtures.streams import many_workloads
from textual.screen import Screen

from numascope.tui.app import TopApp
from numascope.tui.feed import Feed
from numascope.tui.frame import Frame
from numascope.tui.messages import FrameReady
from numascope.tui.rows import Placements


class IdleFeed(Feed):
    """The benchmark hands frames to the app itself, so the feed does nothing."""

    finished = False

    def start(self, post: object) -> None: ...
    def set_paused(self, paused: bool) -> None: ...
    def set_interval(self, seconds: float) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class Timing:
    frame: float  # arrival to the end of the last screen update, seconds
    first: float  # arrival to the end of the first screen update
    cpu: float  # the process's CPU time over the frame and the idle check after it
    until_idle: float  # arrival to pilot.pause() returning


def size_arg(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


async def measure(workloads: int, frames: int, size: tuple[int, int]) -> list[Timing]:
    """Timings per frame after the first (which also builds the columns)."""
    app = TopApp(IdleFeed(), interval=1.0, mode="bench")
    rules = {f"pid:{10_000 + i}": "default: local" for i in range(workloads)}
    placements = Placements(rules, {10_000 + i: "default" for i in range(workloads)})
    painted: list[float] = []
    display = app._display

    def display_and_note(screen: Screen[object], renderable: RenderableType | None) -> None:
        display(screen, renderable)
        painted.append(time.perf_counter())

    app._display = display_and_note  # type: ignore[method-assign]
    times = []
    async with app.run_test(size=size) as pilot:
        snap = many_workloads(workloads, 1)
        for seq in range(1, frames + 2):
            painted.clear()
            started, cpu = time.perf_counter(), time.process_time()
            app.post_message(FrameReady(Frame(snap, placements)))
            await pilot.pause()  # processes the message, then waits for the screen to settle
            idle, used = time.perf_counter() - started, time.process_time() - cpu
            if seq > 1:
                first, last = (painted[0], painted[-1]) if painted else (started + idle,) * 2
                times.append(Timing(last - started, first - started, used, idle))
            snap = many_workloads(workloads, seq + 1)  # the next poll: not timed
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=5000)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument(
        "--size",
        type=size_arg,
        action="append",
        help="terminal WIDTHxHEIGHT, repeatable (default: 160x50 and 80x24)",
    )
    args = parser.parse_args()
    for size in args.size or [(160, 50), (80, 24)]:
        measured = asyncio.run(measure(args.workloads, args.frames, size))
        frame = sorted(t.frame for t in measured)
        p95 = frame[min(len(frame) - 1, int(0.95 * len(frame)))]
        print(
            f"{args.workloads} workloads, {size[0]}x{size[1]}, {len(frame)} frames: "
            f"median {1000 * statistics.median(frame):.0f} ms, p95 {1000 * p95:.0f} ms, "
            f"max {1000 * frame[-1]:.0f} ms; "
            f"first update median {1000 * statistics.median(t.first for t in measured):.0f} ms; "
            f"CPU median {1000 * statistics.median(t.cpu for t in measured):.0f} ms; "
            f"until idle median {1000 * statistics.median(t.until_idle for t in measured):.0f} ms"
        )


if __name__ == "__main__":
    main()
