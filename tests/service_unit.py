"""Reading deploy/numascope-exporter.service as systemd does, for the tests that check it."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "numascope-exporter.service"
SYSUSERS = ROOT / "deploy" / "numascope.sysusers"


def settings(section: str = "Service", unit: Path = UNIT) -> dict[str, list[str]]:
    """Each key of `section` with its values in order (systemd allows a key many times)."""
    found: dict[str, list[str]] = {}
    current = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        if current == section:
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def exec_start() -> list[str]:
    """The ExecStart command line as an argv (the unit has one, with no prefixes)."""
    (line,) = settings()["ExecStart"]
    return shlex.split(line)


def bounding_set() -> list[str]:
    """CapabilityBoundingSet= as capability names, e.g. CAP_BPF."""
    return " ".join(settings()["CapabilityBoundingSet"]).split()


def exposure(unit: Path = UNIT) -> float:
    """`systemd-analyze security --offline=yes`'s overall exposure of `unit`."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing"
    done = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", done.stdout)
    assert match, done.stdout[-2000:]
    return float(match.group(1))
