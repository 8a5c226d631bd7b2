"""The balancing section in a capture: written, redacted, and reported."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

from numascope.capture.redact import Redactor
from numascope.capture.replay import read_recording
from numascope.exporters.report.build import build_report
from numascope.exporters.report.markdown import render_markdown
from tests.fixtures.capture_files import header, write_capture
from tests.tui.test_balancing_view import churning_stream


def test_report_has_the_balancing_section_with_verdicts_and_tiers(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.gz", churning_stream(3), header())
    text = render_markdown(build_report(read_recording(path)))
    assert "## NUMA balancing and memory tiers" in text
    assert "kernel.numa_balancing: on (normal); demotion: on" in text
    assert "numa_pages_migrated 40,000" in text  # 60,000 at the end less 20,000 at the start
    assert "Processes judged churning at some reading: 1" in text
    ours = text[text.index("## NUMA balancing and memory tiers") :]
    row = next(line for line in ours.splitlines() if "| 4242 |" in line)
    assert "| java | churning | yes | 30% | 40,000 |" in row
    tier = next(line for line in ours.splitlines() if line.startswith("| 2 | 22 |"))
    assert "| none |" in tier  # the CPU-less node, with its tier


def test_report_says_when_a_process_had_more_threads_than_were_read(tmp_path: Path) -> None:
    snaps = []
    for snap in churning_stream(2):
        assert snap.balancing is not None
        java = dataclasses.replace(snap.balancing.processes[0], threads=300, threads_read=64)
        section = dataclasses.replace(snap.balancing, processes=(java,))
        snaps.append(dataclasses.replace(snap, balancing=section))
    path = write_capture(tmp_path / "t.gz", snaps, header())
    recorded = read_recording(path).snapshots[-1].balancing
    assert recorded is not None and recorded.processes[0].threads_left_out == 236
    text = render_markdown(build_report(read_recording(path)))
    ours = text[text.index("## NUMA balancing and memory tiers") :]
    row = next(line for line in ours.splitlines() if "| 4242 |" in line)
    assert "| java (64 of 300 threads read) | churning |" in row


def test_redaction_hides_the_process_names_of_the_balancing_section(tmp_path: Path) -> None:
    redactor = Redactor()
    snaps = [redactor.snapshot(s) for s in churning_stream(2)]
    path = write_capture(tmp_path / "r.gz", snaps, redactor.header(header()))
    text = gzip.decompress(path.read_bytes()).decode()
    assert '"java"' not in text
    recorded = read_recording(path).snapshots[-1].balancing
    assert recorded is not None
    assert recorded.processes[0].name == snaps[-1].processes[0].name  # same token as the row
