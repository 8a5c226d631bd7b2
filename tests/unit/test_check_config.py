"""`numascope check-config`: exit status and `FILE:LINE:COL: message` lines."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from numascope.commands import check_config
from numascope.config import parse_config
from numascope.config.checks import check_document, shadows
from numascope.config.model import Match
from numascope.topology import read_topology

FIXTURES = Path(__file__).parent.parent / "fixtures"
SYS_2NODE = str(FIXTURES / "sys-2node")
EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "config.yaml"
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    check_config.register(parser.add_subparsers())
    args = parser.parse_args(["check-config", *argv])
    status: int = args.func(args)
    return status


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[tuple[int, int, str]]:
    err = capsys.readouterr().err
    out = []
    for line in err.splitlines():
        m = LINE.match(line)
        assert m, f"not FILE:LINE:COL: {line!r}"
        out.append((int(m["line"]), int(m["col"]), m["message"]))
    return out


def test_example_passes_on_two_nodes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(EXAMPLE), "--sysfs", SYS_2NODE) == 0
    assert "ok (4 rules)" in capsys.readouterr().out


def test_schema_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "rules:\n  - name: a\n    placement: {bind: []}\n    colour: 1\n")
    assert run(path, "--sysfs", SYS_2NODE) == 1
    lines = error_lines(capsys)
    assert (4, 5, "unknown key 'colour' in rules[0]") in lines
    assert any(line == 3 and "bind" in msg for line, _, msg in lines)


def test_unknown_and_memoryless_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "rules:\n"
        "  - name: a\n"
        "    match: {comm: a}\n"
        "    placement: {interleave: [0, 1, 7]}\n"
        "  - name: b\n"
        "    match: {comm: b}\n"
        "    placement: {preferred: 3}\n"
        "default: {placement: {bind: [1]}}\n"
    )
    path = write(tmp_path, text)
    assert run(path, "--sysfs", SYS_2NODE) == 1
    assert error_lines(capsys) == [
        (4, 36, "node 7 does not exist on this host (nodes: 0, 1)"),
        (7, 28, "node 3 does not exist on this host (nodes: 0, 1)"),
    ]
    assert run(path, "--no-topology") == 0


def test_unreachable_and_duplicate_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "rules:\n"
        "  - name: db\n"
        "    match: {comm: 'post*'}\n"
        "    placement: local\n"
        "  - name: pg\n"
        "    match: {comm: postgres, user: pg}\n"
        "    placement: local\n"
        "  - name: db2\n"
        "    match: {comm: 'post*'}\n"
        "    placement: local\n"
        "  - name: other\n"
        "    match: {comm: 'x*'}\n"
        "    placement: local\n"
        "  - name: all\n"
        "    placement: local\n"
        "  - name: db\n"
        "    match: {pid: 1}\n"
        "    placement: local\n"
    )
    path = write(tmp_path, text)
    assert run(path, "--no-topology") == 1
    assert error_lines(capsys) == [
        (5, 5, "rule 'pg' can never match: rule 'db' on line 2 matches all it does"),
        (8, 5, "rule 'db2' can never match: it duplicates the match of rule 'db' on line 2"),
        (16, 5, "rule 'db' can never match: rule 'all' on line 14 matches everything"),
        (16, 11, "rule name 'db' is already used on line 2"),
    ]


def test_missing_file_and_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(tmp_path / "absent.yaml")) == 1
    [(line, col, message)] = error_lines(capsys)
    assert (line, col) == (1, 1) and message.startswith("cannot read it")
    assert run() == 2


def test_schema_flag_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--schema") == 0
    schema = json.loads(capsys.readouterr().out)
    assert "rules" in schema["properties"]


def test_registered_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from numascope import cli

    if "check_config" not in cli.COMMAND_MODULES:
        pytest.fail("check_config is missing from numascope.cli.COMMAND_MODULES")
    path = write(tmp_path, "thresholds: {min-pages: x}\n")
    assert cli.main(["check-config", path, "--no-topology"]) == 1
    assert error_lines(capsys) == [
        (
            1,
            25,
            "thresholds.min-pages: Input should be a valid integer, "
            "unable to parse string as an integer",
        )
    ]


@pytest.mark.parametrize(
    ("earlier", "later", "shadowed"),
    [
        ({}, {"comm": "x"}, True),
        ({"comm": "x"}, {"comm": "x"}, True),
        ({"comm": "x*"}, {"comm": "xy"}, True),
        ({"comm": "x*"}, {"comm": "x?"}, False),
        ({"comm": "x"}, {"comm": "x", "pid": 3}, True),
        ({"comm": "x", "pid": 3}, {"comm": "x"}, False),
        ({"user": "a"}, {"user": "b"}, False),
        ({"cgroup": "/a/*"}, {"cgroup": "/a/b"}, True),
    ],
)
def test_shadows(earlier: dict[str, object], later: dict[str, object], shadowed: bool) -> None:
    assert shadows(Match.model_validate(earlier), Match.model_validate(later)) == shadowed


def test_check_document_without_topology_only_checks_rules() -> None:
    doc = parse_config("rules: [{name: a, placement: {bind: [9]}}]", "f.yaml")
    assert check_document(doc) == []
    assert len(check_document(doc, read_topology(SYS_2NODE))) == 1
