"""The Memory tab (`e`): residence per node, process and cgroup, and MOVED."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures import streams
from tests.fixtures.residence_stream import memory_moved
from tests.tui.conftest import played, replay_app, screen_text, until


def line_with(text: str, *needles: str) -> str:
    return next(line for line in text.splitlines() if all(n in line for n in needles))


async def test_memory_tab_shows_residence_by_node_kind_and_moved(tmp_path: Path) -> None:
    app = replay_app(tmp_path, memory_moved())
    async with app.run_test(size=(160, 50)) as pilot:
        await played(pilot)
        await pilot.press("e")
        await until(pilot, lambda: "Processes (numa_maps" in screen_text(app), "memory tab")
        text = screen_text(app)
        # dd: 300 MiB anon + 12 MiB file on node 0, 20 MiB on node 1 (none on the
        # CPU-less node 2); 84% moved, marked without colour.
        dd = line_with(text, "4242", "dd")
        assert dd.split()[2:9] == ["312M", "20M", "0B", "320M", "12M", "0B", "84%*"]
        assert dd.split()[-1] == "2s"
        # A 1 GiB hugetlb mapping counts for its size, not one page.
        huge = line_with(text, "5151", "hugeuser")
        assert huge.split()[2:5] == ["0B", "1.0G", "0B"]
        assert "38 more" in text  # 40 read, 2 named
        assert line_with(text, "/user.slice/batch").split()[1:3] == ["358M", "22M"]
        node1 = line_with(text, " 1 ", "100M", "300M")
        assert node1.split()[1:] == ["100M", "300M", "5.0M", "1.0G", "0B"]


async def test_memory_tab_says_when_there_is_no_residence(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(120, 30)) as pilot:
        await played(pilot)
        await pilot.press("e")
        await until(pilot, lambda: "No residence" in screen_text(app), "memory tab")
