"""Alert rules and dashboard queries: they parse, pass their tests, name real metrics."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from numascope.exporters.prometheus import exposed_names
from tests.promtools import (
    DASHBOARD,
    RULE_TESTS,
    RULES,
    STANDARD_METRICS,
    dashboard_queries,
    metric_names,
    promtool,
    rule_queries,
)

RECORDED = {name for name, _ in rule_queries() if name.startswith("numascope:")}


def test_rules_pass_promtool_check() -> None:
    assert "SUCCESS" in promtool("check", "rules", str(RULES))


def test_rules_pass_their_unit_tests() -> None:
    assert "SUCCESS" in promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)


def test_every_alert_named_in_the_issue_exists() -> None:
    alerts = {name for name, _ in rule_queries()} - RECORDED
    assert {
        "NumascopeRemoteRatioAbovePolicy",
        "NumascopePolicyDrift",
        "NumascopeRemoteIrq",
        "NumascopeReclaimStorm",
        "NumascopeDown",
        "NumascopeMapOverflow",
        "NumascopeSourceDegraded",
        "NumascopeProbeFailing",
    } <= alerts


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    # promtool parses each expression as a recording rule: a typo fails here.
    rules = [
        {"record": f"numascope_test:q{i}", "expr": expr}
        for i, (_, expr) in enumerate(dashboard_queries())
    ]
    file = tmp_path / "dashboard-queries.yml"
    file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in promtool("check", "rules", str(file))


def test_queries_read_only_metrics_the_exporter_emits() -> None:
    known = exposed_names() | RECORDED | STANDARD_METRICS
    for where, expr in [*dashboard_queries(), *rule_queries()]:
        names = metric_names(expr)
        # `up` is Prometheus' own scrape health, the one outside metric allowed.
        assert names or expr.startswith("up{"), f"{where}: reads no numascope metric: {expr}"
        assert names <= known, f"{where}: unknown {sorted(names - known)}"


def test_dashboard_takes_datasource_job_and_instance_as_variables() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert "__inputs" not in board
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "instance"} <= variables.keys()
    for panel in (p for p in board["panels"] if p["type"] != "row"):
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert "$job" in target["expr"] and "$instance" in target["expr"], panel["title"]
    titles = " / ".join(p["title"] for p in board["panels"]).lower()
    for word in (
        "per node",
        "per workload",
        "node-to-node",
        "offenders",
        "findings",
        "kswapd",
        "reclaim",
        "irq",
        "health",
    ):
        assert word in titles


def test_dashboard_json_is_what_the_generator_writes() -> None:
    import runpy

    generated = runpy.run_path(str(DASHBOARD.with_name("make_dashboard.py")))["dashboard"]()
    assert json.loads(DASHBOARD.read_text()) == generated
