"""A real Prometheus runs the join of docs/kubernetes-identity.md: numascope's pod UIDs
get namespace and pod names from a kube-state-metrics `kube_pod_info` target."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import streams
from tests.kubernetes_docs import doc_queries
from tests.promtools import exporter, prometheus

pytestmark = pytest.mark.kernel

# What kube-state-metrics says of the two pods of the stream (and of one pod that is
# not on this node: it must not appear in the join).
KUBE_STATE_METRICS = f"""\
# HELP kube_pod_info Information about pod.
# TYPE kube_pod_info gauge
kube_pod_info{{namespace="shop",pod="web-7d9f8b6c5-x2k4q",uid="{streams.WEB_POD_UID}",node="n1"}} 1
kube_pod_info{{namespace="cache",pod="redis-0",uid="{streams.CACHE_POD_UID}",node="n1"}} 1
kube_pod_info{{namespace="shop",pod="away",uid="11111111-2222-3333-4444-555555555555",node="n2"}} 1
"""


@contextlib.contextmanager
def kube_state_metrics() -> Iterator[str]:
    """A /metrics target serving KUBE_STATE_METRICS on a free loopback port."""
    body = KUBE_STATE_METRICS.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_documented_join_names_each_pod(tmp_path: Path) -> None:
    stream = streams.write_stream(tmp_path / "pods.jsonl", streams.kubernetes_pods(30))
    with (
        kube_state_metrics() as ksm,
        exporter("--replay", str(stream), "--interval", "0.2", log=tmp_path / "x.log") as at,
        prometheus(tmp_path, {"numascope": [at], "kube-state-metrics": [ksm]}) as server,
    ):
        join = doc_queries()[0]
        assert join.startswith("numascope_cgroup_pages_total")
        # The replay has played out once redis' node-1 pages reach their last total. A
        # series counts from the snapshot it was named in (the first): 29 intervals.
        assert server.wait_for(f"({join}) == 26100", seconds=60), "the replay never ended"
        result = server.query(join)
        named = {
            (r["metric"]["namespace"], r["metric"]["pod"], r["metric"]["node"]): float(
                r["value"][1]
            )
            for r in result
        }
        # redis: 29 intervals of 100 pages from node 0 and 900 from node 1; the web pod's
        # two nginx workers: 29 x 80 from node 0 and 29 x 5 from node 1.
        assert named == {
            ("cache", "redis-0", "0"): 2900,
            ("cache", "redis-0", "1"): 26100,
            ("shop", "web-7d9f8b6c5-x2k4q", "0"): 2320,
            ("shop", "web-7d9f8b6c5-x2k4q", "1"): 145,
        }
        # Every other query of the page runs (rates need two scrapes: wait for data).
        for query in doc_queries()[1:]:
            assert server.wait_for(query, seconds=60), query
