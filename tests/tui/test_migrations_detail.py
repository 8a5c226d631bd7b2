"""Migrations in `top`: the header's summary line and the workload detail section."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from numascope.policy.judge import MIGRATED_OFF_RULE
from numascope.snapshot.migration import KernelMigrationCounters, MigrationRow, MigrationSection
from numascope.snapshot.model import Finding, Severity, Snapshot
from numascope.snapshot.sections import Count
from numascope.tui.detail import DetailScreen
from tests.fixtures import streams
from tests.tui.conftest import played, replay_app, screen_text, until


def with_migrations() -> list[Snapshot]:
    """postgres (bound to node 1) has its pages moved to node 0 by NUMA balancing."""
    out = []
    for s in streams.policy_violation():
        n = s.seq
        row = MigrationRow(
            5151,
            "postgres",
            "numa_misplaced",
            succeeded=Count(2000 * n, 2000),
            failed=Count(3 * n, 3),
            sources={1: Count(2000 * n, 2000)},
            targets={0: Count(1500 * n, 1500)},
        )
        kernel = (KernelMigrationCounters(None, {"pgmigrate_success": Count(2000 * n, 2000)}),)
        moved = Finding(
            "pid:5151",
            "postgres",
            "database",
            MIGRATED_OFF_RULE,
            Severity.CRITICAL,
            "postgres (pid 5151): 100% of 1500 pages migrated (numa_misplaced) went to node 0",
            5151,
            {"ratio": 1.0, "reason": "numa_misplaced"},
        )
        out.append(
            dataclasses.replace(
                s,
                migrations=MigrationSection((row,), True, kernel),
                findings=(*s.findings, moved),
            )
        )
    return out


async def test_header_and_detail_show_what_moved_where_and_what_to_do(tmp_path: Path) -> None:
    app = replay_app(tmp_path, with_migrations())
    async with app.run_test(size=(120, 60)) as pilot:
        await played(pilot)
        assert "migrated 8.0k pages (numa_misplaced 8.0k) · kernel pgmigrate_success 8.0k" in (
            screen_text(app)
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        await pilot.pause()
        text = screen_text(app)
        line = next(x for x in text.splitlines() if "numa_misplaced" in x and "N0" in x)
        # Last interval, total, failed, THP, from (all seen on node 1), to (a quarter unseen).
        assert line.split() == [
            "numa_misplaced",
            "2.0k",
            "8.0k",
            "12",
            "0",
            "N1",
            "8.0k",
            "N0",
            "6.0k,",
            "?",
            "2.0k",
        ]
        assert "moved-off 100%" in text
        assert "moved its pages off the rule's nodes" in text


async def test_detail_says_when_migrations_are_not_measured(tmp_path: Path) -> None:
    app = replay_app(tmp_path, streams.policy_violation())
    async with app.run_test(size=(120, 60)) as pilot:
        await played(pilot)
        assert "migrated" not in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        await pilot.pause()
        assert "the migrate probe family is not running" in screen_text(app)
