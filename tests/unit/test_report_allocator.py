"""The report's Allocator section, and --redact on high-order call sites."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

from numascope.capture.redact import Redactor
from numascope.capture.replay import read_recording
from numascope.exporters.report.build import build_report
from numascope.exporters.report.html import render_html
from numascope.exporters.report.markdown import render_markdown
from numascope.snapshot.model import Snapshot
from tests.fixtures import export_streams, streams
from tests.fixtures.capture_files import header, policy_violation_capture, write_capture


def with_allocator() -> list[Snapshot]:
    """The policy-violation stream, with the allocator section of the exporter fixture."""
    return [
        dataclasses.replace(s, allocator=export_streams.allocator(s.seq))
        for s in streams.policy_violation()
    ]


def allocator_capture(path: Path) -> Path:
    vmstat = header(
        vmstat_before={"numa_hit": 10, "compact_stall": 3, "compact_fail": 1},
        vmstat_after={"numa_hit": 9000, "compact_stall": 10, "compact_fail": 1},
    )
    return write_capture(path, with_allocator(), vmstat)


def section_of(text: str) -> str:
    return text.split("## Allocator")[1].split("\n## ")[0]


def row(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def test_allocator_section_sits_between_reclaim_and_irqs(tmp_path: Path) -> None:
    text = render_markdown(build_report(read_recording(allocator_capture(tmp_path / "c.gz"))))
    assert text.index("## Reclaim") < text.index("## Allocator") < text.index("## IRQs")


def test_page_lists_failures_sites_and_slab_for_the_whole_capture(tmp_path: Path) -> None:
    capture = read_recording(allocator_capture(tmp_path / "c.gz"))
    allocator = section_of(render_markdown(build_report(capture)))
    # Four snapshots: node 1 allocated 2,000 pages, 1,600 refilled + 200 direct.
    assert row(allocator, "| 1 | 2,000 |") == "| 1 | 2,000 | 1,600 | 200 | 800 | 90.0% | 90.0% |"
    assert row(allocator, "| 0 | 4,000 |").endswith("| 32.0% | 32.0% |")
    assert "| 1 | 0 | 0 | 0 | 20 | 8 |" in allocator  # failed 9+ from node 1, kcompactd
    site = row(allocator, "| 9+ | 1 |")
    assert "| membound (pid 4242) | 40 | 20,480 | do_huge_pmd_anonymous_page |" in site
    assert "__alloc_pages < vma_alloc_folio < do_huge_pmd_anonymous_page" in site
    assert "| 4-8 | 1 | kworker/u4:1 | 4 | 64 | unknown | - |" in allocator
    assert row(allocator, "| skbuff_head_cache |").endswith("| 800 | 400 | 0 | 400 | 50.0% |")
    assert "compact_stall 7, compact_fail 0" in allocator


def test_html_has_the_same_allocator_tables(tmp_path: Path) -> None:
    html = render_html(build_report(read_recording(allocator_capture(tmp_path / "c.gz"))))
    assert "<h2>Allocator</h2>" in html
    assert "<td>do_huge_pmd_anonymous_page</td>" in html
    assert "<td>90.0%</td>" in html


def test_a_capture_without_the_allocator_family_has_no_allocator_section(
    tmp_path: Path,
) -> None:
    text = render_markdown(build_report(read_recording(policy_violation_capture(tmp_path / "c"))))
    assert "## Allocator" not in text and "## Reclaim" in text


def test_redact_replaces_call_site_workload_names_but_keeps_kernel_ones(tmp_path: Path) -> None:
    redactor = Redactor()
    snaps = [redactor.snapshot(s) for s in with_allocator()]
    path = write_capture(tmp_path / "r.gz", snaps, redactor.header(header()))
    text = gzip.decompress(path.read_bytes()).decode()
    assert "membound" not in text and "polite" not in text
    capture = read_recording(path)
    last = capture.snapshots[-1].allocator
    assert last is not None
    names = {s.workload_key: s.workload_name for s in last.high_order_sites}
    assert names["pid:4242"].startswith("comm-")
    assert names["kernel"] == "kworker/u4:1"
