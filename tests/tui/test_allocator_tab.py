"""The allocator tab (`a`): page lists per node and CPU, failures, call sites, slab."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures import streams
from tests.tui.conftest import played, replay_app, screen_text, until


def line_with(text: str, *needles: str) -> str:
    return next(line for line in text.splitlines() if all(n in line for n in needles))


async def test_allocator_tab_shows_page_lists_failures_sites_and_slab(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.allocator_pressure())
    async with app.run_test(size=(160, 50)) as pilot:
        await played(pilot)
        assert "Per-CPU page lists" not in screen_text(app)
        await pilot.press("a")
        await until(pilot, lambda: "Per-CPU page lists" in screen_text(app), "allocator tab")
        text = screen_text(app)
        # Node 1: 8k pages allocated, 5.2k refilled + 1.2k direct under the zone lock: 80%.
        node1 = line_with(text, " 1 ", "8.0k", "5.2k", "1.2k", "6.0k")
        assert node1.rstrip().endswith("80%*")  # marked without colour
        node0 = line_with(text, " 0 ", "20k", "1.8k")
        assert node0.rstrip().endswith("10%")
        cpu3 = line_with(text, " 3 ", "500", "400", "5.6k")  # the CPU that drains
        assert "80%*" in cpu3
        # Failures by order class on node 0, with kcompactd wake-ups; host compaction.
        failed = line_with(text, "12!")
        assert failed.split()[:5] == ["0", "0", "2!", "12!", "0"] and failed.split()[-1] == "3"
        assert "stall 4" in text and "fail 3" in text
        # The high-order call site behind the failures: order class, node, workload, frames.
        osd = line_with(text, "ceph-osd 7070")
        assert osd.split()[:2] == ["4-8", "0"]
        assert "__alloc_pages < kmalloc_large_node < tcp_sendmsg_locked" in osd
        assert "tcp_sendmsg " not in osd.replace("tcp_sendmsg_locked", "")  # 3 frames shown
        # Slab: the network cache allocating on the other node has a 55% remote share.
        skb = line_with(text, "skbuff_head_cache")
        assert skb.split()[1:] == ["1", "4.0k", "1.0k", "55%*"]
        assert line_with(text, "kmalloc-256").split()[-1] == "7%"


async def test_allocator_tab_says_when_the_family_is_not_attached(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    async with app.run_test(size=(100, 30)) as pilot:
        await played(pilot)
        await pilot.press("a")
        await until(pilot, lambda: "No allocator data" in screen_text(app), "allocator tab")
        assert "allocator probe family is not attached" in screen_text(app)
