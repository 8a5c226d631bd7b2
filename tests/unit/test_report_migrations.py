"""The report's Migrations section, and migrations in a redacted capture."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from numascope.capture.redact import Redactor
from numascope.capture.replay import read_recording
from numascope.exporters.report.build import build_report
from numascope.exporters.report.markdown import render_markdown
from numascope.snapshot.migration import TaskMoveRow
from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import Count
from tests.fixtures import streams
from tests.fixtures.capture_files import header, policy_violation_capture, write_capture
from tests.fixtures.migration_stream import migrations


def with_migrations() -> list[Snapshot]:
    return [
        dataclasses.replace(s, migrations=migrations(s.seq)) for s in streams.policy_violation()
    ]


def section_of(text: str) -> str:
    return text.split("## Migrations")[1].split("\n## ")[0]


def test_reasons_workloads_nodes_and_the_kernel_for_the_whole_capture(tmp_path: Path) -> None:
    capture = read_recording(write_capture(tmp_path / "c.gz", with_migrations(), header()))
    section = section_of(render_markdown(build_report(capture)))
    # Four snapshots: membound moved 64 pages a step from node 0 to node 1.
    assert "numascope counted 376 pages migrated." in section
    assert "pgmigrate_success rose 376 over the same time (difference 0.0%)" in section
    assert "| syscall_or_cpuset | 256 | 4 |" in section
    assert "| membound | 4242 | process | syscall_or_cpuset | 256 | 4 | 0 | 0: 256 | 1: 260 |" in (
        section
    )
    assert (
        "| kcompactd0 | 61 | kernel thread | compaction | 120 | 0 | 0 | 0: 120 | unknown: 120 |"
        in (section)
    )
    assert "| host (/proc/vmstat) | pgmigrate_fail | 4 |" in section


def with_task_moves() -> list[Snapshot]:
    out = []
    for s in with_migrations():
        assert s.migrations is not None
        moves = (
            TaskMoveRow(4242, "membound", "stuck", {-1: Count(5 * s.seq, 5), 1: Count(1, 0)}),
            TaskMoveRow(4242, "membound", "moved", {1: Count(2 * s.seq, 2)}),
        )
        section = dataclasses.replace(s.migrations, task_moves=moves, tracks_task_moves=True)
        out.append(dataclasses.replace(s, migrations=section))
    return out


def test_task_moves_by_outcome_for_the_whole_capture(tmp_path: Path) -> None:
    capture = read_recording(write_capture(tmp_path / "c.gz", with_task_moves(), header()))
    section = section_of(render_markdown(build_report(capture)))
    assert "Threads NUMA balancing moved toward their memory" in section
    assert "| membound | 4242 | stuck | 21 | ?: 20, 1: 1 |" in section
    assert "| membound | 4242 | moved | 8 | 1: 8 |" in section
    # Recorded without the sched_*_numa tracepoints, the table says so.
    untracked = []
    for s in with_migrations():
        assert s.migrations is not None
        section = dataclasses.replace(s.migrations, task_moves=(), tracks_task_moves=False)
        untracked.append(dataclasses.replace(s, migrations=section))
    plain = read_recording(write_capture(tmp_path / "p.gz", untracked, header()))
    text = section_of(render_markdown(build_report(plain)))
    assert "Not counted: the sched_*_numa tracepoints were not attached." in text


def test_redact_replaces_the_names_of_task_moves_as_of_the_workloads() -> None:
    snap = with_task_moves()[0]
    redacted = Redactor().snapshot(snap)
    assert redacted.migrations is not None
    rows = {r.tgid: r.name for r in redacted.migrations.rows}
    moves = {r.name for r in redacted.migrations.task_moves}
    assert moves == {rows[4242]} and rows[4242].startswith("comm-")


def test_without_the_migrate_family_there_is_no_section(tmp_path: Path) -> None:
    text = render_markdown(build_report(read_recording(policy_violation_capture(tmp_path / "c"))))
    assert "## Migrations" not in text


def test_redact_replaces_process_names_but_keeps_kernel_threads() -> None:
    redacted = Redactor().snapshot(with_migrations()[0])
    assert redacted.migrations is not None
    names = {r.tgid: r.name for r in redacted.migrations.rows}
    assert names[61] == "kcompactd0"
    assert names[4242].startswith("comm-")
