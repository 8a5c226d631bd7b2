"""Holds a dashboard against Grafana's published dashboard types (npm @grafana/schema).

The package ships the dashboard schema as TypeScript types generated from
Grafana's own schema; the TypeScript compiler checks a dashboard JSON written
as a typed literal: a missing required field, a wrong type or an unknown key
is an error naming the line. scripts/setup --test installs both packages
(dashboards/schema-check, pinned by its lock file).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import require
from tests.promtools import ROOT, tool

PACKAGES = ROOT / "dashboards" / "schema-check" / "node_modules"
TSC = PACKAGES / "typescript" / "bin" / "tsc"
DASHBOARD_TYPE = "@grafana/schema/dist/esm/raw/dashboard/x/Dashboard_types.gen"


def schema_errors(boards: dict[str, dict[str, Any]], tmp: Path) -> dict[str, list[str]]:
    """Per named board, the compiler's complaints about it as a Grafana Dashboard.

    All boards go through one compiler run (a run costs seconds); an empty list
    means the board is valid.
    """
    require(TSC.exists(), "dashboards/schema-check is not installed (scripts/setup --test)")
    (tmp / "node_modules").symlink_to(PACKAGES)
    lines = [f'import type {{ Dashboard }} from "{DASHBOARD_TYPE}";']
    spans: dict[str, range] = {}
    for i, (name, board) in enumerate(boards.items()):
        first = len(lines) + 1
        lines += f"export const board{i}: Dashboard = {json.dumps(board, indent=1)};".splitlines()
        spans[name] = range(first, len(lines) + 1)
    (tmp / "boards.ts").write_text("\n".join(lines) + "\n", encoding="utf-8")
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
            "boards.ts",
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    found: dict[str, list[str]] = {name: [] for name in boards}
    for line in result.stdout.splitlines():
        if line[:1].isspace():
            continue  # the indented detail of the error above
        where = re.match(r"boards\.ts\((\d+),\d+\): error TS", line)
        assert where, result.stdout + result.stderr  # only errors about the boards
        found[next(n for n, span in spans.items() if int(where[1]) in span)].append(line)
    assert any(found.values()) or result.returncode == 0, result.stdout + result.stderr
    return found
