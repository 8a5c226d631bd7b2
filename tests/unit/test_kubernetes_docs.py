"""The PromQL joins in docs/kubernetes-identity.md parse (promtool) and use real names."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from numascope.exporters.prometheus import METRICS
from tests.kubernetes_docs import doc_queries
from tests.promtools import promtool


def test_the_page_holds_the_join_and_its_variants() -> None:
    queries = doc_queries()
    assert len(queries) >= 4
    assert all("kube_pod_info" in q for q in queries)


def test_every_query_on_the_page_parses(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "kubernetes-identity-doc",
                "rules": [
                    {"record": f"doc:query_{i}", "expr": q} for i, q in enumerate(doc_queries())
                ],
            }
        ]
    }
    path = tmp_path / "doc-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    promtool("check", "rules", str(path))


def test_every_numascope_metric_the_page_names_exists_with_a_pod_uid_label() -> None:
    for query in doc_queries():
        for name in set(re.findall(r"\bnumascope_\w+", query)):
            family = METRICS[name.removesuffix("_total")]
            assert "pod_uid" in family.labels, name
