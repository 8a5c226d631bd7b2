"""Writes the Kubernetes objects made from files kept elsewhere in the tree.

    .venv/bin/python deploy/kubernetes/generate.py           # rewrite them
    .venv/bin/python deploy/kubernetes/generate.py --check   # exit 1 if stale

- prometheusrule.yaml: the groups of deploy/prometheus/numascope-rules.yml, as a
  PrometheusRule for the Prometheus Operator;
- dashboard-configmap.yaml: dashboards/numascope.json, as a ConfigMap that
  Grafana's dashboard sidecar picks up (label grafana_dashboard: "1").

The rules file and the dashboard stay the one source of truth; a test fails when
either was changed and this was not run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "deploy" / "kubernetes"
RULES = ROOT / "deploy" / "prometheus" / "numascope-rules.yml"
DASHBOARD = ROOT / "dashboards" / "numascope.json"
NAMESPACE = "numascope"
LABELS = {"app.kubernetes.io/name": "numascope"}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, the dashboard's JSON) as literal blocks."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def _dump(header: str, source: Path, obj: dict[str, Any]) -> str:
    body = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
    shown = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
    made = f"# Generated from {shown} by deploy/kubernetes/generate.py:"
    return f"{made} do not edit.\n# {header}\n{body}"


def prometheus_rule(rules: Path = RULES) -> str:
    """The PrometheusRule holding every group of `rules`."""
    groups = yaml.safe_load(rules.read_text())["groups"]
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "numascope", "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {"groups": groups},
    }
    header = (
        "An operator that selects rules by label (kube-prometheus-stack: its release "
        "label) needs it added: see docs/kubernetes.md."
    )
    return _dump(header, rules, obj)


def dashboard_configmap(dashboard: Path = DASHBOARD) -> str:
    """A ConfigMap with `dashboard`'s JSON, labelled for Grafana's sidecar."""
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "numascope-dashboard",
            "namespace": NAMESPACE,
            "labels": {**LABELS, "grafana_dashboard": "1"},
        },
        "data": {dashboard.name: dashboard.read_text()},
    }
    header = (
        "Grafana's sidecar (grafana helm chart: sidecar.dashboards.enabled) loads "
        'ConfigMaps labelled grafana_dashboard: "1"; set its searchNamespace to '
        "include this namespace."
    )
    return _dump(header, dashboard, obj)


def render() -> dict[Path, str]:
    """Every generated file, by path, as this tree makes it now."""
    return {
        HERE / "prometheusrule.yaml": prometheus_rule(),
        HERE / "dashboard-configmap.yaml": dashboard_configmap(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = [
        path for path, text in render().items() if not path.exists() or path.read_text() != text
    ]
    if args.check:
        for path in stale:
            print(
                f"{path.relative_to(ROOT)}: stale; run deploy/kubernetes/generate.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path, text in render().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
