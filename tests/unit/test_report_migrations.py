"""The report's Migrations section, and migrations in a redacted capture."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from numascope.capture.redact import Redactor
from numascope.capture.replay import read_recording
from numascope.exporters.report.build import build_report
from numascope.exporters.report.markdown import render_markdown
from numascope.snapshot.model import Snapshot
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


def test_without_the_migrate_family_there_is_no_section(tmp_path: Path) -> None:
    text = render_markdown(build_report(read_recording(policy_violation_capture(tmp_path / "c"))))
    assert "## Migrations" not in text


def test_redact_replaces_process_names_but_keeps_kernel_threads() -> None:
    redacted = Redactor().snapshot(with_migrations()[0])
    assert redacted.migrations is not None
    names = {r.tgid: r.name for r in redacted.migrations.rows}
    assert names[61] == "kcompactd0"
    assert names[4242].startswith("comm-")
