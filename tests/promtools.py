"""Plumbing for tests that use the real Prometheus server and promtool."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "numascope.json"
RULES = ROOT / "deploy" / "prometheus" / "numascope-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "numascope-rules.test.yml"
STREAMS = ROOT / "tests" / "fixtures" / "streams"
RUNBOOK = ROOT / "docs" / "runbook.md"
INHIBIT = ROOT / "deploy" / "prometheus" / "alertmanager-inhibit.yml"
RUNBOOK_BASE = "https://github.com/numascope/numascope/blob/main/docs/runbook.md"

# prometheus_client's standard process collector, which the exporter's registry
# serves beside numascope's own families (the dashboard's cost panels read them).
STANDARD_METRICS = {"process_cpu_seconds_total", "process_resident_memory_bytes"}

# Grafana's variables, as a test substitutes them: every job and instance, and a
# rate window that holds several 1 s scrapes.
GRAFANA_VARS = {"$__rate_interval": "1m", "$job": ".+", "$instance": ".+"}


def tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (scripts/setup --test installs it)")
    assert path is not None
    return path


def promtool(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [tool("promtool"), *args], input=stdin, capture_output=True, text=True, cwd=cwd
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, concrete PromQL) for every target of every panel."""
    board = json.loads(DASHBOARD.read_text())
    out = []
    for p in board["panels"]:
        for t in p.get("targets", []):  # a row panel has none
            out.append((p["title"], concrete(t["expr"])))
    return out


def rule_queries() -> list[tuple[str, str]]:
    """(rule name, PromQL) for every recording and alerting rule."""
    doc = yaml.safe_load(RULES.read_text())
    return [
        (r.get("alert") or r["record"], r["expr"].strip())
        for g in doc["groups"]
        for r in g["rules"]
    ]


def concrete(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


_NAME = re.compile(r"\b(numascope_[a-z0-9_]+|numascope:[a-z0-9_:]+|process_[a-z0-9_]+)")


def metric_names(expr: str) -> set[str]:
    """numascope (and standard process_*) metric and recording-rule names a query reads."""
    return set(_NAME.findall(expr))


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of the rules file, as written."""
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class PrometheusServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[Any]:
        """An instant query's result vector (raises on a query Prometheus rejects)."""
        try:
            data = self.api("query", query=expr)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{expr}: {exc.read().decode()}") from None
        result: list[Any] = data["result"]
        return result if data["resultType"] == "vector" else [data["result"]]

    def wait_for(self, expr: str, seconds: float = 60.0) -> list[Any]:
        deadline = time.monotonic() + seconds
        while True:
            result = self.query(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.5)


@contextmanager
def prometheus(
    tmp: Path, jobs: dict[str, list[str]], rules: Path = RULES
) -> Iterator[PrometheusServer]:
    """Debian's Prometheus on loopback, scraping `jobs` every second, with `rules`."""
    binary = tool("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": targets}]}
            for job, targets in jobs.items()
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready")
        yield PrometheusServer(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@contextmanager
def exporter(*args: str, log: Path) -> Iterator[str]:
    """`numascope export` on a free loopback port; yields its host:port."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    out = log.open("w")
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "numascope"),
            "export",
            "--web.listen-address",
            address,
            *args,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://{address}/metrics", seconds=120)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out.close()
