"""The Grafana dashboard: valid against Grafana's schema, units per field, a fleet row.

Whether every query returns data is proven against a real Prometheus in
tests/kernel/test_export_prometheus.py.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.grafana_schema import schema_errors
from tests.promtools import DASHBOARD

BOARD: dict[str, Any] = json.loads(DASHBOARD.read_text())
PANELS = [p for p in BOARD["panels"] if p["type"] != "row"]


def field_units(panel: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """refId -> (unit, axis) of each query, after the panel's overrides."""
    default = panel["fieldConfig"]["defaults"]["unit"]
    units = {t["refId"]: (default, "left") for t in panel["targets"]}
    for override in panel["fieldConfig"]["overrides"]:
        assert override["matcher"]["id"] == "byFrameRefID"
        ref = override["matcher"]["options"]
        props = {p["id"]: p["value"] for p in override["properties"]}
        units[ref] = (props.get("unit", default), props.get("custom.axisPlacement", "left"))
    return units


_RATE_OF = re.compile(r"rate\((\w+)\{")
# A counter of pages: `..._pages_total`, or cut by something, `..._pages_by_workload_total`.
_PAGES_COUNTER = re.compile(r"_pages(_by_[a-z]+)?_total$")


def unit_fits(expr: str, unit: str) -> bool:
    """Whether `unit` is the unit of what `expr` measures."""
    counters = _RATE_OF.findall(expr)
    if "histogram_quantile" in expr or "time() -" in expr or "_duration_seconds" in expr:
        return unit == "s"
    if "_bytes" in expr:
        return unit == "bytes"
    if " / " in expr:  # a share of like things, or seconds per BPF run
        per_run = "bpf_run_seconds" in expr and "bpf_runs_total" in expr
        return unit == ("s" if per_run else "percentunit")
    if counters and all(c.endswith("_seconds_total") for c in counters):
        return unit == "percentunit"  # seconds per second: a share of one CPU
    if counters and all(_PAGES_COUNTER.search(c) for c in counters):
        return unit == "suffix: pages/s"
    if counters:
        return unit.startswith("suffix: ") and unit.endswith("/s") and "pages" not in unit
    if "_ratio{" in expr:  # a gauge of a share 0..1
        return unit == "percentunit"
    return unit == "none"  # counts and 0/1 states: never a percentage


BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "a width that is not a number": lambda b: b["panels"][1]["gridPos"].update(w="wide"),
    "a key Grafana does not know": lambda b: b["panels"][1].update(colour="red"),
    "a variable without a type": lambda b: b["templating"]["list"][0].pop("type"),
}


def test_dashboard_validates_against_grafanas_published_schema(tmp_path: Path) -> None:
    # Broken copies go through the same check and must fail it: the check can fail.
    boards = {"numascope.json": BOARD}
    for what, break_it in BREAKAGES.items():
        boards[what] = copy.deepcopy(BOARD)
        break_it(boards[what])
    errors = schema_errors(boards, tmp_path)
    assert errors.pop("numascope.json") == []
    assert all(errors.values()), (
        f"passed the schema check: {[w for w, e in errors.items() if not e]}"
    )


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p["title"])
def test_panel_describes_itself(panel: dict[str, Any]) -> None:
    assert len(panel["description"]) > 30, panel["title"]


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p["title"])
def test_every_field_has_the_unit_of_what_it_measures(panel: dict[str, Any]) -> None:
    units = field_units(panel)
    for t in panel["targets"]:
        unit, _ = units[t["refId"]]
        assert unit_fits(t["expr"], unit), f"{panel['title']}: {unit!r} for {t['expr']}"
    if panel["type"] == "timeseries":
        # Two kinds of figure never share an axis (no seconds and pages on one).
        for axis in ("left", "right"):
            assert len({u for u, a in units.values() if a == axis}) <= 1, panel["title"]


def test_the_unit_check_tells_counts_from_shares_and_seconds_from_pages() -> None:
    pages = 'rate(numascope_node_pages_total{job=~"$job"}[1m])'
    assert unit_fits(pages, "suffix: pages/s")
    assert not unit_fits(pages, "percentunit") and not unit_fits(pages, "s")
    assert not unit_fits("numascope_findings", "percentunit")
    assert unit_fits("rate(numascope_kswapd_awake_seconds_total{}[1m])", "percentunit")
    assert not unit_fits("rate(numascope_kswapd_wakeups_total{}[1m])", "percentunit")


def test_node_matrix_repeats_per_host() -> None:
    matrix = [p for p in PANELS if "numascope_matrix_pages_total" in p["targets"][0]["expr"]]
    assert len(matrix) == 1 and matrix[0]["repeat"] == "instance"
    assert "$instance" in matrix[0]["title"]


def test_fleet_row_ranks_hosts_and_shows_numascopes_own_cost() -> None:
    rows = [p for p in BOARD["panels"] if p["type"] == "row"]
    assert rows[0]["title"] == "Fleet"
    second_row = BOARD["panels"].index(rows[1])
    fleet = " ".join(t["expr"] for p in BOARD["panels"][1:second_row] for t in p["targets"])
    assert 'sort_desc(sum by (instance) (rate(numascope_node_pages_total{job=~"$job", ' in fleet
    assert "sum by (instance, severity) (numascope_findings" in fleet
    for cost in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "numascope_bpf_run_seconds_total",
    ):
        assert cost in fleet


def test_panels_do_not_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for p in BOARD["panels"]:
        g = p["gridPos"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & taken and g["x"] + g["w"] <= 24, p["title"]
        taken |= cells
