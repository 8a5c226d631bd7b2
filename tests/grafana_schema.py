"""Holds a dashboard against Grafana's published dashboard types (npm @grafana/schema).

The package ships the dashboard schema as TypeScript types generated from
Grafana's own schema; the TypeScript compiler checks a dashboard JSON written
as a typed literal: a missing required field, a wrong type or an unknown key
is an error naming the line. scripts/setup --test installs both packages
(dashboards/schema-check, pinned by its lock file).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import require
from tests.promtools import ROOT, tool

PACKAGES = ROOT / "dashboards" / "schema-check" / "node_modules"
TSC = PACKAGES / "typescript" / "bin" / "tsc"
DASHBOARD_TYPE = "@grafana/schema/dist/esm/raw/dashboard/x/Dashboard_types.gen"


def schema_errors(board: dict[str, Any], tmp: Path) -> list[str]:
    """The compiler's complaints about `board` as a Grafana Dashboard (none: valid)."""
    require(TSC.exists(), "dashboards/schema-check is not installed (scripts/setup --test)")
    (tmp / "node_modules").symlink_to(PACKAGES)
    source = tmp / "board.ts"
    source.write_text(
        f'import type {{ Dashboard }} from "{DASHBOARD_TYPE}";\n'
        f"export const board: Dashboard = {json.dumps(board, indent=1)};\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            tool("node"),
            str(TSC),
            "--noEmit",
            "--strict",
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            source.name,
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    errors = [line for line in result.stdout.splitlines() if "error TS" in line]
    assert errors or result.returncode == 0, result.stdout + result.stderr
    return errors
