"""Commands that never show the TUI do not import Textual (start-up time and memory).

Each command runs in a fresh interpreter, as a user would start it; the check is
on that interpreter's own `sys.modules` once the command has finished.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Runs the command in-process, then reports which Textual modules got imported.
PROBE = """
import json, sys
from numascope.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "textual")))
"""


def textual_modules_after(argv: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
        check=False,
    )
    last = done.stdout.strip().splitlines()[-1:] or ["<nothing>"]
    assert last[0].startswith("["), f"{argv}: no report; stderr: {done.stderr[-2000:]}"
    modules: list[str] = json.loads(last[0])
    return modules


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--help"],
        ["top", "--help"],
        ["--version"],
        ["snapshot", "--source", "kernel", "--count", "1", "--interval", "0.1"],
        ["topology"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_command_does_not_import_textual(argv: list[str]) -> None:
    assert textual_modules_after(argv) == []


def test_capture_does_not_import_textual(tmp_path: Path) -> None:
    out = tmp_path / "c.capture.gz"
    argv = ["capture", "--source", "kernel", "--duration", "1s", "--interval", "0.2"]
    assert textual_modules_after([*argv, "-o", str(out)]) == []
    assert out.stat().st_size > 0  # the command really ran, not only its parser


def test_the_check_sees_textual_when_it_is_imported() -> None:
    # Guards the probe itself: were it blind, every test above would pass.
    modules = textual_modules_after(["top", "--replay", "/nonexistent/stream.jsonl"])
    assert "textual" in modules or "textual.app" in modules
