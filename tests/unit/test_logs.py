"""`export` logs: logfmt or JSON, `--log.level`, journald priorities under systemd."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from numascope.logs import configure_logging, connected_to_journal, logfmt_value
from tests.fixtures import export_streams
from tests.promtools import free_port


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("", '""'),
        ("line\nbreak", '"line\\nbreak"'),
        ("back\\slash", '"back\\\\slash"'),
    ],
)
def test_logfmt_values(value: str, written: str) -> None:
    assert logfmt_value(value) == written


def log_lines(tmp_path: Path, fmt: str, journal: bool, level: str = "debug") -> list[str]:
    path = tmp_path / "log"
    with path.open("w") as stream:
        logger = configure_logging(level, fmt, stream=stream, journal=journal)
        child = logging.getLogger("numascope.export")
        child.debug("d")
        child.info("serving %s", "http://x")
        child.warning("w")
        child.error("config: line 3: bad")
        logger.handlers.clear()
    return path.read_text().splitlines()


def test_logfmt_lines_carry_level_logger_and_message(tmp_path: Path) -> None:
    lines = log_lines(tmp_path, "logfmt", journal=False)
    assert len(lines) == 4
    assert lines[1].startswith("ts=20")
    assert ' level=info logger=numascope.export msg="serving http://x"' in lines[1]
    assert " level=warn " in lines[2]
    assert lines[3].endswith('level=error logger=numascope.export msg="config: line 3: bad"')


def test_json_lines_and_journald_priorities(tmp_path: Path) -> None:
    lines = log_lines(tmp_path, "json", journal=True)
    assert [line[:3] for line in lines] == ["<7>", "<6>", "<4>", "<3>"]
    record = json.loads(lines[3][3:])
    assert record["level"] == "error" and record["msg"] == "config: line 3: bad"
    assert record["logger"] == "numascope.export"


def test_level_hides_what_is_below_it(tmp_path: Path) -> None:
    lines = log_lines(tmp_path, "logfmt", journal=False, level="warn")
    assert [line.split(" level=")[1].split()[0] for line in lines] == ["warn", "error"]


def test_journal_stream_must_name_the_stream_itself(tmp_path: Path) -> None:
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        st = os.fstat(a.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert connected_to_journal(a, env)
        assert not connected_to_journal(b, env)  # inherited by a process that redirected
        assert not connected_to_journal(a, {})
        assert not connected_to_journal(a, {"JOURNAL_STREAM": "junk"})


def run_export(tmp_path: Path, *args: str, journal: bool) -> tuple[int, list[str]]:
    """`numascope export` on a replay, its stderr a file; ended once it serves."""
    stream = export_streams.write_stream(
        tmp_path / "s.jsonl", [export_streams.two_node(s) for s in range(1, 4)]
    )
    address = f"127.0.0.1:{free_port()}"
    err_path = tmp_path / "stderr"
    with err_path.open("w") as err:
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        if journal:  # as systemd does: the device and inode of the stream it hands over
            st = os.fstat(err.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        argv = [sys.executable, "-m", "numascope", "export", "--replay", str(stream)]
        proc = subprocess.Popen(
            [*argv, "--web.listen-address", address, *args], stderr=err, env=env
        )
        try:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://{address}/metrics", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.terminate()
            status = proc.wait(timeout=30)
    return status, err_path.read_text().splitlines()


def test_export_under_journald_prefixes_priorities(tmp_path: Path) -> None:
    status, lines = run_export(tmp_path, "--log.format", "json", journal=True)
    assert status == 0, lines
    serving = [json.loads(line[3:]) for line in lines if line.startswith("<6>")]
    assert any(r["msg"].startswith("serving http://127.0.0.1:") for r in serving), lines


def test_export_error_is_one_logged_line_with_error_priority(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    status, lines = run_export(tmp_path, "--config", str(missing), journal=True)
    assert status != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("<3>ts=") and str(missing) in lines[0]
    assert "Traceback" not in lines[0]


def test_export_log_level_error_is_quiet_when_all_is_well(tmp_path: Path) -> None:
    status, lines = run_export(tmp_path, "--log.level", "error", journal=False)
    assert status == 0 and lines == []
