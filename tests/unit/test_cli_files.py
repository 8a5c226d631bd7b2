"""The man page and shell completions are generated from the parser, and are current."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

from numascope.cli import COMMAND_MODULES
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def make_cli_files() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_cli_files", ROOT / "deploy" / "make_cli_files.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_are_what_the_parser_generates() -> None:
    for path, text in make_cli_files().generated().items():
        assert path.read_text() == text, f"{path} is stale: run deploy/make_cli_files.py"


def complete(*words: str) -> list[str]:
    """What bash's completion offers when the cursor is on the last of `words`."""
    require(shutil.which("bash") is not None, "needs bash")
    script = ROOT / "deploy" / "completion" / "numascope.bash"
    quoted = " ".join(f"'{w}'" for w in words)
    line = f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}"
    line += '; _shtab_numascope; printf "%s\\n" "${COMPREPLY[@]}"'
    done = subprocess.run(
        ["bash", "--norc", "-c", line], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_bash_completes_commands_options_and_choices() -> None:
    assert complete("numascope", "ex") == ["export"]
    assert set(complete("numascope", "export", "--log.")) == {"--log.level", "--log.format"}
    assert complete("numascope", "export", "--log.format", "") == ["logfmt", "json"]
    assert "--duration" in complete("numascope", "capture", "--d")


def test_man_page_renders_every_command_without_warnings() -> None:
    require(shutil.which("man") is not None, "needs man (Debian's man-db)")
    page = ROOT / "deploy" / "man" / "numascope.1"
    done = subprocess.run(
        ["man", "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "MANPAGER": "cat"},
        check=True,
    )
    assert done.stderr == ""
    for name in COMMAND_MODULES:
        assert f"COMMAND 'numascope {name.replace('_', '-')}'" in done.stdout, name
    assert "--log.format" in done.stdout


def test_generator_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    module = make_cli_files()
    module.BASH_COMPLETION = tmp_path / "numascope.bash"
    module.MAN_PAGE = tmp_path / "numascope.1"
    module.ZSH_COMPLETION = tmp_path / "_numascope"
    assert module.main(["--check"]) == 1  # nothing written yet
    assert module.main([]) == 0
    assert module.main(["--check"]) == 0
