"""The exporter's unit: starts with no config file, sandboxed, scored by systemd-analyze.

The installed unit is run for real by tests/kernel/test_install_unit.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from numascope.cli import build_parser
from tests.conftest import require
from tests.service_unit import ROOT, SYSUSERS, UNIT, exec_start, exposure, settings

# The exposure docs/install.md states; lowering it is welcome (then update both).
STATED_EXPOSURE = 4.9


def test_exposure_is_no_higher_than_the_docs_say() -> None:
    require(shutil.which("systemd-analyze") is not None, "needs systemd-analyze (systemd)")
    assert exposure() <= STATED_EXPOSURE
    assert f"exposure of {STATED_EXPOSURE}" in (ROOT / "docs" / "install.md").read_text()


def test_the_check_rejects_a_unit_without_the_sandbox(tmp_path: Path) -> None:
    require(shutil.which("systemd-analyze") is not None, "needs systemd-analyze (systemd)")
    bare = tmp_path / "numascope-exporter.service"
    kept = [line for line in UNIT.read_text().splitlines() if "=" not in line or "Exec" in line]
    bare.write_text("\n".join(kept) + "\n")
    assert exposure(bare) > STATED_EXPOSURE


def test_verify_finds_nothing_wrong_but_a_missing_install() -> None:
    require(shutil.which("systemd-analyze") is not None, "needs systemd-analyze (systemd)")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(UNIT)], capture_output=True, text=True
    )
    complaints = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line and "/usr/local/bin/numascope is not executable" not in line
    ]
    assert complaints == []


def test_exec_start_needs_no_config_file_and_names_the_sysusers_user() -> None:
    argv = exec_start()
    assert argv[:2] == ["/usr/local/bin/numascope", "export"]
    args = build_parser().parse_args(argv[1:])
    assert args.config is None  # /etc/numascope/config.yaml is read only when present
    user = SYSUSERS.read_text().split("\nu ")[1].split()[0]
    assert args.user == user == "numascope"
    assert args.source == "bpf" and args.drop_privileges


def test_cache_directory_is_where_the_header_tree_goes() -> None:
    from numascope.probes.kernel_headers import CACHE_DIR

    (cache,) = settings()["CacheDirectory"]
    assert CACHE_DIR.parent == Path("/var/cache") / cache
