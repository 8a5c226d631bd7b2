"""Write numascope's man page and shell completions from its argument parser.

    .venv/bin/python deploy/make_cli_files.py          # rewrite the files below
    .venv/bin/python deploy/make_cli_files.py --check  # exit 1 if any is stale

The parser is the one source of every command and option, so these files are
generated, never edited, and a test fails when one no longer matches. Two pinned
PyPI packages do the formatting (dev extras): argparse-manpage writes roff from an
ArgumentParser, subcommands included, and shtab writes bash and zsh completion
that knows every subcommand's options and their choices; both are small, have no
dependencies, and are run only here, never by numascope itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import shtab
from argparse_manpage.manpage import Manpage

from numascope import __version__
from numascope.cli import build_parser

DEPLOY = Path(__file__).resolve().parent
MAN_PAGE = DEPLOY / "man" / "numascope.1"
BASH_COMPLETION = DEPLOY / "completion" / "numascope.bash"
ZSH_COMPLETION = DEPLOY / "completion" / "_numascope"

NAME_LINE = "see which process, cgroup or interrupt gets memory from which NUMA node"
# Metavars that name a file or a folder: the shells then complete paths for them.
FILE_METAVARS = {"FILE", "PATH"}
DIR_METAVARS = {"DIR", "PROC"}

FILES_SECTION = r"""
.TP
.B /etc/numascope/config.yaml
Placement policy, read when present and no \-\-config is given; otherwise every
workload is expected to get its memory from its own node.
.TP
.B /var/cache/numascope/kernel\-headers
The merged kernel header tree the probes compile against when the running kernel
has none of its own.
.TP
.B /etc/systemd/system/numascope\-exporter.service
The exporter's service, put there by scripts/install.
"""

ENVIRONMENT_SECTION = r"""
.TP
.B NUMASCOPE_KERNEL_HEADERS
Kernel header tree for compiling the probes (as \-\-kernel\-headers).
.TP
.B JOURNAL_STREAM
Set by systemd: export then starts each log line with its journald priority.
"""

SEE_ALSO_SECTION = r"""
.BR systemctl (1),
.BR journalctl (1),
.BR numastat (8),
.BR numactl (8).
The full guide is docs/install.md and README.md in numascope's source.
"""


def _parser() -> argparse.ArgumentParser:
    parser = build_parser()
    _mark_paths(parser)
    return parser


def _at_80_columns(make: Callable[[], str]) -> str:
    # argparse wraps help to the terminal's width: fix it so the output never varies,
    # and put the caller's setting back (the tests run this in their own process).
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        return make()
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _mark_paths(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub)
        elif action.metavar in FILE_METAVARS or "-o" in action.option_strings:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
        elif action.metavar in DIR_METAVARS:
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]


def man_page() -> str:
    """The roff source of numascope(1)."""
    page = Manpage(
        _parser(),
        _data={
            "date": " ",  # a date would make every run differ; the version says enough
            "project_name": "numascope",
            "version": __version__,
            "manual_title": "numascope manual",
            "manual_section": 1,
            "description": NAME_LINE,
        },
    )
    page.add_section("files", "=", FILES_SECTION.strip())
    page.add_section("environment", "=", ENVIRONMENT_SECTION.strip())
    page.add_section("see also", "=", SEE_ALSO_SECTION.strip())
    return str(page)


def completion(shell: str) -> str:
    """The completion script for `shell` (bash or zsh)."""
    return str(shtab.complete(_parser(), shell=shell))


def generated() -> dict[Path, str]:
    """Every file this script writes, with what it should hold."""
    return {
        MAN_PAGE: _at_80_columns(man_page),
        BASH_COMPLETION: _at_80_columns(lambda: completion("bash")),
        ZSH_COMPLETION: _at_80_columns(lambda: completion("zsh")),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in generated().items():
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in stale:
        print(f"{path}: stale; run deploy/make_cli_files.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
