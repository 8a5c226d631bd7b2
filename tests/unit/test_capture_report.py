"""`numascope report`: verdict first, every section, and the same numbers in Markdown and HTML."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from numascope.capture.replay import read_recording
from numascope.cli import main
from numascope.exporters.report.build import build_report
from numascope.exporters.report.html import render_html
from numascope.exporters.report.markdown import render_markdown
from tests.fixtures import streams
from tests.fixtures.capture_files import policy_violation_capture, write_capture

SECTIONS = (
    "# numascope capture report: db-host-1",
    "**Verdict:**",
    "## Summary",
    "## Findings",
    "## Node matrix",
    "## Top workloads",
    "## Reclaim",
    "## IRQs",
    "## System facts",
)


def markdown(path: Path) -> str:
    return render_markdown(build_report(read_recording(path)))


def test_markdown_has_every_section_in_order_with_the_verdict_first(tmp_path: Path) -> None:
    text = markdown(policy_violation_capture(tmp_path / "c.gz"))
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions), positions


def test_verdict_names_the_worst_workload_and_the_node_its_pages_came_from(
    tmp_path: Path,
) -> None:
    report = build_report(read_recording(policy_violation_capture(tmp_path / "c.gz")))
    assert report.verdict.level == "critical"
    assert report.verdict.workload == "postgres (pid 5151)"
    assert report.verdict.node == 0
    verdict = render_markdown(report).split("\n## Summary")[0]
    assert "postgres (pid 5151)" in verdict
    assert "mostly from node 0, remote to CPUs on node 1" in verdict
    assert "CRITICAL" in verdict


def test_findings_carry_their_evidence_and_how_often_they_were_seen(tmp_path: Path) -> None:
    text = markdown(policy_violation_capture(tmp_path / "c.gz"))
    findings = text.split("## Findings")[1].split("## Node matrix")[0]
    rows = [line for line in findings.splitlines() if line.startswith("| critical")]
    assert len(rows) == 1
    assert "outside-bind" in rows[0] and "| database |" in rows[0]
    assert '"0":3200' in rows[0] and 'placement="bind:1"' in rows[0]
    assert "| 4 (0-3 s) |" in rows[0]
    assert "| warning | policy-drift |" in findings


def test_matrix_workloads_and_system_facts_hold_the_header_facts(tmp_path: Path) -> None:
    text = markdown(policy_violation_capture(tmp_path / "c.gz"))
    workloads = text.split("## Top workloads")[1].split("## Reclaim")[0]
    pg = next(line for line in workloads.splitlines() if "| postgres |" in line)
    assert "/usr/lib/postgresql/15/bin/postgres -D /srv/pg" in pg
    assert "cpus 2-3 mems 0-1" in pg
    assert "| 80.0% |" in pg
    facts = text.split("## System facts")[1]
    assert "| kernel.numa_balancing | 0 |" in facts
    assert "numa_balancing=disable" in facts
    assert "| 0 | 5,000 | 3,200 |" in facts  # numastat end minus start: local, other
    assert "| pgmigrate_success | 12 |" in text
    assert "Topology: node distances" in facts


def test_a_table_cell_with_a_pipe_cannot_break_the_table(tmp_path: Path) -> None:
    odd = [
        dataclasses.replace(
            s, processes=tuple(dataclasses.replace(w, name="zz|zz") for w in s.processes)
        )
        for s in streams.policy_violation()
    ]
    text = markdown(write_capture(tmp_path / "c.gz", odd))
    rows = [line for line in text.splitlines() if "zz" in line and line.startswith("|")]
    assert rows and all("zz\\|zz" in row for row in rows)
    for row in rows:
        assert not re.search(r"[^\\ ]\|", row), row


def test_html_is_standalone_with_an_svg_chart_per_view(tmp_path: Path) -> None:
    page = render_html(build_report(read_recording(policy_violation_capture(tmp_path / "c.gz"))))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    assert "<polyline" in page
    assert "postgres (pid 5151)" in page
    # Nothing fetched: no script, stylesheet, image or font from anywhere.
    assert not re.search(r"<(script|link|img)\b|src=|href=|@import|url\(", page)


def test_report_cli_writes_markdown_or_html_to_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = policy_violation_capture(tmp_path / "c.gz")
    assert main(["report", str(path)]) == 0
    assert capsys.readouterr().out.startswith("# numascope capture report")
    assert main(["report", str(path), "--html", "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["report", str(path), "-o", str(tmp_path / "nowhere" / "r.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("numascope: cannot write") and err.count("\n") == 1


def test_a_plain_stream_gets_a_report_too(tmp_path: Path) -> None:
    stream = streams.write_stream(tmp_path / "s.jsonl", streams.remote_heavy())
    text = markdown(stream)
    assert "**Verdict:**" in text and "## Top workloads" in text
