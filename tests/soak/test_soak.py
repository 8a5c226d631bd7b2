"""The soak in its short form: `bench/soak.py` for 60 s (scripts/soak runs ten minutes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require_root
from tests.promtools import ROOT

pytestmark = [pytest.mark.soak, pytest.mark.kernel]


def test_exporter_under_fault_and_spawn_storms() -> None:
    require_root()
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--seconds", "60", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.stdout.strip(), done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["failures"] == [], figures
    assert figures["scrapes"] > 0 and figures["processes_spawned"] >= 1000, figures
    assert done.returncode == 0, done.stderr
