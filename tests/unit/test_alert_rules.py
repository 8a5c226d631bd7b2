"""Alerts an on-call engineer can act on: each says what, links its runbook, is tested.

The rules' own behaviour is proven by `promtool test rules` (test_export_rules.py);
these tests hold the rules file, its promtool tests and docs/runbook.md together,
and show that the promtool tests would catch a lost traffic guard or `for:`.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.promtools import (
    RULE_TESTS,
    RULES,
    RUNBOOK,
    RUNBOOK_BASE,
    alert_rules,
    rule_queries,
    tool,
)

ALERTS = {r["alert"]: r for r in alert_rules()}
# Alerts on a share of traffic, and the recorded traffic guard each needs.
RATIO_ALERTS = {
    "NumascopeRemoteRatioAbovePolicy": "numascope:policy_min_pages_per_second",
    "NumascopeNodeRemoteRatioHigh": "numascope:policy_min_pages_per_second",
    "NumascopeRemoteIrq": "numascope:policy_irq_min_events_per_second",
}
# Each guard is the policy's own figure over its window.
GUARDS = {
    "numascope:policy_min_pages_per_second": "numascope_policy_min_pages",
    "numascope:policy_irq_min_events_per_second": "numascope_policy_irq_min_events",
}


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def runbook_sections() -> dict[str, str]:
    """Anchor -> text of each `## ` section of docs/runbook.md."""
    sections: dict[str, str] = {}
    anchor = ""
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            anchor = github_anchor(line[3:])
            sections[anchor] = ""
        elif anchor:
            sections[anchor] += line + "\n"
    return sections


def rule_test_cases() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULE_TESTS.read_text())
    return [case for test in doc["tests"] for case in test.get("alert_rule_test", [])]


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_alert_says_what_and_links_its_runbook_section(name: str) -> None:
    notes = ALERTS[name].get("annotations", {})
    assert notes.get("summary"), f"{name}: no summary"
    assert len(notes.get("description", "")) > 60, f"{name}: no real description"
    url = notes.get("runbook_url", "")
    assert url == f"{RUNBOOK_BASE}#{name.lower()}", f"{name}: runbook_url {url!r}"
    sections = runbook_sections()
    anchor = url.split("#", 1)[1]
    assert anchor in sections, f"{name}: docs/runbook.md has no section #{anchor}"
    text = sections[anchor]
    for part in ("**Means.**", "**Confirm.**", "**Do.**"):
        assert part in text, f"docs/runbook.md#{anchor} lacks {part}"


def test_runbook_sections_are_exactly_the_alerts() -> None:
    documented = {a for a in runbook_sections() if a.startswith("numascope")}
    assert documented == {name.lower() for name in ALERTS}


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_alert_has_a_firing_and_a_quiet_promtool_case(name: str) -> None:
    cases = [c for c in rule_test_cases() if c["alertname"] == name]
    assert any(c["exp_alerts"] for c in cases), f"{name}: no case where it fires"
    assert any(not c["exp_alerts"] for c in cases), f"{name}: no case where it must not"


@pytest.mark.parametrize(("name", "guard"), sorted(RATIO_ALERTS.items()))
def test_ratio_alert_needs_the_policys_traffic(name: str, guard: str) -> None:
    ratio, traffic = ALERTS[name]["expr"].split("and on")
    assert guard in traffic and guard not in ratio, ALERTS[name]["expr"]
    recorded = dict(rule_queries())[guard]
    policy = f"{GUARDS[guard]} / on (job, instance) numascope_policy_window_seconds"
    assert recorded.startswith(policy), recorded


def test_map_overflow_waits_before_firing() -> None:
    assert ALERTS["NumascopeMapOverflow"].get("for")


def test_source_and_probe_alerts_read_the_agreed_metrics() -> None:
    assert ALERTS["NumascopeSourceDegraded"]["expr"].strip() == "numascope_source_fallback == 1"
    failing = ALERTS["NumascopeProbeFailing"]["expr"]
    assert failing.strip() == (
        "sum by (job, instance, family) (increase(numascope_probe_failures_total[10m])) > 0"
    )


def _without_guard(rule: dict[str, Any]) -> None:
    rule["expr"] = rule["expr"].split("and on")[0]


def _without_wait(rule: dict[str, Any]) -> None:
    del rule["for"]


MUTATIONS = [(name, "traffic guard", _without_guard) for name in RATIO_ALERTS] + [
    (name, "for:", _without_wait) for name, rule in ALERTS.items() if "for" in rule
]


@pytest.mark.parametrize(("name", "what", "mutate"), MUTATIONS, ids=lambda v: str(v))
def test_promtool_cases_fail_without_the_guard_or_the_wait(
    tmp_path: Path, name: str, what: str, mutate: Any
) -> None:
    doc = yaml.safe_load(RULES.read_text())
    changed = copy.deepcopy(doc)
    for group in changed["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == name:
                mutate(rule)
    (tmp_path / RULES.name).write_text(yaml.safe_dump(changed))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = subprocess.run(
        [tool("promtool"), "test", "rules", RULE_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0, f"{name} without its {what} still passes its tests"
