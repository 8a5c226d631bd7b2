"""Screens pinned with pytest-textual-snapshot at 80x24 and 160x50.

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and review the SVGs in `__snapshots__/`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.fixtures import streams
from tests.fixtures.residence_stream import memory_moved
from tests.tui.conftest import played, replay_app, until

SIZES = [(80, 24), (160, 50)]


def before(*keys: str) -> Callable[[Pilot[int]], Any]:
    async def run(pilot: Pilot[int]) -> None:
        await played(pilot)
        await pilot.press(*keys)
        await until(pilot, lambda: True, "settle")
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    assert snap_compare(app, terminal_size=size, run_before=before())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(tmp_path, streams.policy_violation())
    assert snap_compare(app, terminal_size=size, run_before=before("enter"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reclaim_tab(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(tmp_path, streams.reclaim_storm())
    assert snap_compare(app, terminal_size=size, run_before=before("r"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_irq_tab(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(tmp_path, streams.irq_finding())
    assert snap_compare(app, terminal_size=size, run_before=before("i"))


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.remote_heavy())
    assert snap_compare(app, terminal_size=(80, 24), run_before=before("question_mark"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_allocator_tab(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(tmp_path, streams.allocator_pressure())
    assert snap_compare(app, terminal_size=size, run_before=before("a"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_memory_tab(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = replay_app(tmp_path, memory_moved())
    assert snap_compare(app, terminal_size=size, run_before=before("e"))
