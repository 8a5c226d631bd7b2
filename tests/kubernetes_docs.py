"""The PromQL in docs/kubernetes-identity.md, for the tests that parse and run it."""

from __future__ import annotations

import re

from tests.promtools import ROOT

DOC = ROOT / "docs" / "kubernetes-identity.md"


def doc_queries() -> list[str]:
    """Every ```promql block of the page, and each inline query on `kube_pod_info`."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```promql\n(.*?)```", text, re.DOTALL)
    inline = [q for q in re.findall(r"`([^`\n]+)`", text) if q.startswith("max by")]
    return [q.strip() for q in [*blocks, *inline]]
