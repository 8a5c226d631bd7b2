"""The HTML report in a real headless Chromium: the page and its charts really draw."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from numascope.cli import main
from tests.browser.png import colours
from tests.conftest import require
from tests.fixtures.capture_files import policy_violation_capture

HANG = 300  # a safety net against a stuck browser, not a timing check
CHART_RED = (0xD6, 0x27, 0x28)  # the first series' colour in report_svg.PALETTE
CHART_BLUE = (0x1F, 0x77, 0xB4)


def screenshot(page: Path, png: Path, profile: Path) -> None:
    chromium = shutil.which("chromium")
    require(chromium is not None, "needs Debian's chromium (scripts/setup --test)")
    assert chromium is not None
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1200,1000",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=HANG,
    )


def near(c: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(c, target, strict=True))


def test_html_report_renders_text_and_both_charts(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    capture = policy_violation_capture(tmp_path / "c.capture.gz")
    assert main(["report", "--html", str(capture), "-o", str(page)]) == 0
    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path / "profile")
    counts = colours(png)
    total = sum(counts.values())
    background, most = counts.most_common(1)[0]
    assert most < 0.97 * total, f"almost all one colour {background}: a blank page"
    assert len(counts) > 50, "too few colours for text, tables and charts"
    # Both series colours are drawn as lines (legend squares alone are 2 x 100 pixels,
    # the verdict's red border about 400): the charts rendered, not just the text.
    assert sum(n for c, n in counts.items() if near(c, CHART_RED)) > 1000
    assert sum(n for c, n in counts.items() if near(c, CHART_BLUE)) > 800
