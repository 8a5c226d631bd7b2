"""deploy/kubernetes validates offline, and its generated objects match their sources.

Core objects (Namespace, DaemonSet, Service, ConfigMap, ...) are checked against
Kubernetes' own OpenAPI schemas, strictly (unknown fields are errors), with
kubernetes-validate. The Prometheus Operator's PodMonitor and PrometheusRule are
checked against the operator's CRD schemas as packaged on npm
(@kubernetes-models/prometheus-operator, pinned in tests/deploy/crd); those
schemas, like the CRDs, allow unknown fields, so a misspelled optional field
there is not caught.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

from numascope.config import load_config
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
CRD = Path(__file__).parent / "crd"
OPERATOR_KINDS = {"PodMonitor", "PrometheusRule"}
# The oldest and the newest Kubernetes the bundled schemas cover.
VERSIONS = ("1.25.0", "1.37.0")


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", KUBE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifests() -> dict[str, dict[str, Any]]:
    """Every object under deploy/kubernetes, by file name (one object per file)."""
    out = {}
    for path in sorted(KUBE.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            (out[path.name],) = list(yaml.safe_load_all(path.read_text()))
    return out


def by_kind(kind: str) -> dict[str, Any]:
    (obj,) = [m for m in manifests().values() if m["kind"] == kind and "grafana" not in str(m)]
    return obj


def test_generated_objects_are_what_the_generator_makes_now() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generator().render().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"stale, run .venv/bin/python deploy/kubernetes/generate.py: {stale}"


def test_prometheus_rule_holds_the_rules_file_and_follows_it(tmp_path: Path) -> None:
    gen = generator()
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "numascope-rules.yml").read_text())
    made = yaml.safe_load((KUBE / "prometheusrule.yaml").read_text())
    assert made["spec"]["groups"] == rules["groups"]
    # The generator reads the file it is given: an edited rules file gives another object.
    rules["groups"][0]["rules"][0]["expr"] = "vector(1)\n"
    edited = tmp_path / "rules.yml"
    edited.write_text(yaml.safe_dump(rules))
    assert yaml.safe_load(gen.prometheus_rule(edited))["spec"]["groups"] == rules["groups"]


def test_dashboard_configmap_holds_the_dashboard_byte_for_byte() -> None:
    made = yaml.safe_load((KUBE / "dashboard-configmap.yaml").read_text())
    assert made["metadata"]["labels"]["grafana_dashboard"] == "1"
    text = (ROOT / "dashboards" / "numascope.json").read_text()
    assert made["data"] == {"numascope.json": text}
    json.loads(made["data"]["numascope.json"])


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(manifests())


@pytest.mark.parametrize("version", VERSIONS)
def test_core_objects_validate_strictly_against_kubernetes_schemas(version: str) -> None:
    checked = []
    for name, obj in manifests().items():
        if obj["kind"] in OPERATOR_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {exc.message} at {'.'.join(map(str, exc.caught.path))}")
        checked.append(obj["kind"])
    assert {"DaemonSet", "Service", "ConfigMap", "Namespace"} <= set(checked)


def test_a_misspelled_field_fails_kubernetes_validation() -> None:
    daemonset = by_kind("DaemonSet")
    daemonset["spec"]["template"]["spec"]["hostPid"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, VERSIONS[-1], strict=True)


def validate_operator_objects(objects: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    require(node is not None, "node is not installed (scripts/setup --test installs it)")
    require(
        (CRD / "node_modules" / "@kubernetes-models" / "prometheus-operator").is_dir(),
        "the CRD schemas are not installed (scripts/setup --test: npm ci in tests/deploy/crd)",
    )
    assert node is not None
    return subprocess.run(
        [node, str(CRD / "validate.mjs")], input=json.dumps(objects), capture_output=True, text=True
    )


def test_operator_objects_validate_against_the_operator_crd_schemas() -> None:
    objects = [m for m in manifests().values() if m["kind"] in OPERATOR_KINDS]
    assert {m["kind"] for m in objects} == OPERATOR_KINDS
    checked = validate_operator_objects(objects)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    bad = by_kind("PrometheusRule")
    bad["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    assert validate_operator_objects([bad]).returncode == 1


def test_the_pieces_agree() -> None:
    """Selectors, port names, the probe path and the config file name line up."""
    daemonset = by_kind("DaemonSet")
    pod = daemonset["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    labels = pod["metadata"]["labels"]
    assert daemonset["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert by_kind("Service")["spec"]["selector"].items() <= labels.items()
    assert by_kind("PodMonitor")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9477}
    assert "--web.listen-address=0.0.0.0:9477" in container["args"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert [e["port"] for e in by_kind("PodMonitor")["spec"]["podMetricsEndpoints"]] == ["metrics"]
    assert pod["spec"]["hostPID"] is True
    assert container["securityContext"]["privileged"] is False
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_arg = next(a for a in container["args"] if a.startswith("--config="))
    assert config_arg == f"--config={mounts['config']}/config.yaml"


def test_the_configmap_config_is_a_valid_numascope_config(tmp_path: Path) -> None:
    configmap = manifests()["configmap.yaml"]
    path = tmp_path / "config.yaml"
    path.write_text(configmap["data"]["config.yaml"])
    config = load_config(path)
    assert config.prometheus.workload_limit == 50
