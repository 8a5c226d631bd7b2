"""A real Prometheus scraping `numascope export`: every dashboard and rule query answers.

Two runs: against the live kernel (root, BPF), and against a replayed two-node
capture in which every series exists (remote IRQs, a reclaim storm, findings,
an overflowing owner map), since a one-node host cannot produce all of them.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require_root
from tests.fixtures import export_streams
from tests.promtools import (
    PrometheusServer,
    dashboard_queries,
    exporter,
    free_port,
    prometheus,
    rule_queries,
)

pytestmark = pytest.mark.kernel

# Queries that may legitimately return nothing on a healthy one-node host, and
# why; the replay run proves each of them returns data when the situation exists.
LIVE_MAY_BE_EMPTY = {
    "numascope_finding_ratio": "no policy finding on a one-node host (all pages local)",
    "numascope_findings": "no policy finding on a one-node host",
    "numascope_direct_reclaim_stall_seconds_bucket": "no direct reclaim without memory pressure",
    "numascope_irq_handled_total": "IRQ section empty until the IRQ probe fills it; on one "
    "node every device is local or unknown",
    "numascope_softirq_handled_total": "softirq section empty until the softirq probe fills it",
    "numascope_kswapd_": "reclaim section empty until the page-daemon probe fills it",
    "numascope_reclaim_": "reclaim section empty until the page-daemon probe fills it",
    "numascope_direct_reclaim_": "reclaim section empty until the page-daemon probe fills it",
    "numascope:irq_remote_share": "no remote IRQ on one node",
    "numascope_slab_objects_total": "the slab probe is opt-in",
    "numascope:slab_remote_share": "the slab probe is opt-in",
    "numascope_high_order_pages_total": "no order-4+ allocation need happen during the test",
    "numascope_migrated_pages": "no page need migrate during the test on a one-node host",
    "numascope_numa_balancing_process": "NUMA balancing is off on a one-node host: no process "
    "has hinting faults or migrated pages",
    "numascope_numa_task_moves": "NUMA balancing moves no thread on a one-node host",
}

# Alerts on situations the replayed two-node stream does not contain; their
# promtool tests (deploy/prometheus/numascope-rules.test.yml) feed them series.
REPLAY_MAY_BE_EMPTY = {
    "NumascopeSourceDegraded": "the replayed stream never fell back to the kernel's counters",
    "NumascopeProbeFailing": "no probe fails during the replay",
}


def rules_health(server: PrometheusServer) -> dict[str, str]:
    groups = server.api("rules")["groups"]
    return {r["name"]: r.get("lastError", "") for g in groups for r in g["rules"]}


def wait_until_evaluated(server: PrometheusServer) -> None:
    # Two scrapes make a rate; then the rule groups need one evaluation each.
    assert server.wait_for("numascope:node_remote_ratio:rate5m", seconds=60), "rules never ran"
    time.sleep(2)


def test_replayed_capture_answers_every_dashboard_and_rule_query(tmp_path: Path) -> None:
    stream = export_streams.write_stream(
        tmp_path / "long.jsonl", [export_streams.two_node(step) for step in range(1, 301)]
    )
    dead = f"127.0.0.1:{free_port()}"  # nothing listens: NumascopeDown has data
    with (
        exporter("--replay", str(stream), "--interval", "0.2", log=tmp_path / "export.log") as at,
        prometheus(tmp_path, {"numascope": [at], "numascope-down": [dead]}) as server,
    ):
        wait_until_evaluated(server)
        empty = [
            f"{where}: {expr}"
            for where, expr in [*dashboard_queries(), *rule_queries()]
            if where not in REPLAY_MAY_BE_EMPTY and not server.query(expr)
        ]
        assert not empty, "no data for:\n" + "\n".join(empty)
        assert not {k: v for k, v in rules_health(server).items() if v}


def test_live_kernel_answers_every_dashboard_query(tmp_path: Path) -> None:
    require_root()
    with (
        exporter("--source", "bpf", "--interval", "0.5", log=tmp_path / "export.log") as at,
        prometheus(tmp_path, {"numascope": [at]}) as server,
    ):
        assert server.wait_for('up{job="numascope"} == 1', seconds=30)
        for _ in range(3):
            subprocess.run(
                ["dd", "if=/dev/zero", "of=/dev/null", "bs=32M", "count=1"],
                check=True,
                capture_output=True,
            )
            time.sleep(1)
        wait_until_evaluated(server)
        assert server.wait_for('numascope_workload_locality_pages_total{workload="dd"}')
        missing = []
        for where, expr in [*dashboard_queries(), *rule_queries()]:
            result = server.query(expr)  # raises if Prometheus rejects the query
            alert = not where.startswith("numascope:") and where in dict(rule_queries())
            if result or alert or any(k in expr for k in LIVE_MAY_BE_EMPTY):
                continue
            missing.append(f"{where}: {expr}")
        assert not missing, "no data from the live kernel for:\n" + "\n".join(missing)
        assert not {k: v for k, v in rules_health(server).items() if v}
        ours = server.query("sum(rate(numascope_node_allocation_events_total[1m]))")
        kernel = server.query(
            "sum(rate(numascope_kernel_numastat_local_node_total[1m]))"
            " + sum(rate(numascope_kernel_numastat_other_node_total[1m]))"
        )
        assert float(ours[0]["value"][1]) > 0 and float(kernel[0]["value"][1]) > 0
