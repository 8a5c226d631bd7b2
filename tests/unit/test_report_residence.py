"""The report's residence section, from a stream whose snapshots carry residence."""

from __future__ import annotations

from pathlib import Path

from numascope.capture.replay import read_recording
from numascope.exporters.report.build import build_report
from numascope.exporters.report.markdown import render_markdown
from tests.fixtures import streams
from tests.fixtures.residence_stream import memory_moved


def test_report_shows_residence_per_node_kind_and_moved(tmp_path: Path) -> None:
    path = streams.write_stream(tmp_path / "s.jsonl", memory_moved())
    text = render_markdown(build_report(read_recording(path)))
    section = text.split("## Memory residence")[1].split("\n## ")[0]
    dd = next(line for line in section.splitlines() if "| dd |" in line)
    # pid, comm, node 0..2 MiB, anon, file, shared MiB, moved, read age
    cells = [c.strip() for c in dd.strip("|").split("|")]
    assert cells == ["4242", "dd", "312.0", "20.0", "0.0", "320.0", "12.0", "0.0", "84%", "2"]
    huge = next(line for line in section.splitlines() if "| hugeuser |" in line)
    assert "| 1,024.0 |" in huge  # a hugetlb mapping counts for its size
    assert "| 38 more processes |" in section
    assert "| /user.slice/batch | 358.0 | 22.0 |" in section
    assert "| 1 | 100.0 | 300.0 | 5.0 | 1,024.0 | 0.0 |" in section


def test_a_capture_without_residence_has_no_such_section(tmp_path: Path) -> None:
    path = streams.write_stream(tmp_path / "s.jsonl", streams.remote_heavy())
    assert "## Memory residence" not in render_markdown(build_report(read_recording(path)))
