"""`numascope capture` up to the probes: options, progress, and failing before writing."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import pytest

from numascope.cli import main
from numascope.commands.capture import parse_duration
from numascope.commands.capture_progress import BAR_WIDTH, Progress


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), ("500ms", 0.5), ("90", 90.0), ("1.5s", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "-3s", "soon", "3 days", "1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        parse_duration(text)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    tty = Terminal()
    bar = Progress(10.0, tty)
    bar.update(5.0, 5, 1)
    bar.say("done")
    text = tty.getvalue()
    assert text.startswith("\rcapturing [" + "#" * (BAR_WIDTH // 2) + "-" * (BAR_WIDTH // 2))
    assert "5 snapshots, 1 finding" in text
    assert text.endswith("\nnumascope capture: done\n")  # the bar's line ends first
    plain = io.StringIO()
    lines = Progress(10.0, plain)
    lines.update(12.0, 12, 0)  # a late last poll never shows more than the duration
    assert plain.getvalue() == "numascope capture: 10.0/10 s, 12 snapshots, 0 findings\n"
    assert "\r" not in plain.getvalue()


def test_missing_directory_fails_before_the_probes_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "c.gz"
    assert main(["capture", "--duration", "1s", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"numascope: cannot write {target}: No such file or directory\n"


def test_a_bad_config_fails_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("rules: [{name: x}]\n")
    out = tmp_path / "out"
    out.mkdir()
    code = main(["capture", "--config", str(config), "-o", str(out / "c.gz")])
    assert code != 0
    assert os.listdir(out) == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(config) in err


def test_a_directory_as_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["capture", "-o", str(tmp_path)]) == 2
    assert "it is a directory" in capsys.readouterr().err
