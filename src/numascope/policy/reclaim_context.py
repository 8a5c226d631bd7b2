"""Cause and effect: remote or fallback pages while the expected node reclaims.

A preferred node short of free memory makes the allocator fall back to
another node; kswapd or direct reclaim running on it in the same interval is
the likely cause, so the finding says so ("node 1 under reclaim") and carries
the nodes as `node_under_reclaim` evidence.
"""

from __future__ import annotations

import dataclasses

from numascope.config import Placement
from numascope.policy.judge import OUTSIDE_BIND, PREFERRED_FALLBACK, REMOTE_ALLOCATION, Verdict
from numascope.snapshot.model import Locality, Snapshot
from numascope.topology import format_list

EVIDENCE_KEY = "node_under_reclaim"
AFFECTED_KINDS = (REMOTE_ALLOCATION, OUTSIDE_BIND, PREFERRED_FALLBACK)


def nodes_under_reclaim(snapshot: Snapshot) -> frozenset[int]:
    return frozenset(n.node for n in snapshot.reclaim if n.under_reclaim)


def expected_nodes(
    placement: Placement, locality: Locality, candidates: frozenset[int]
) -> frozenset[int]:
    """Which of `candidates` the workload's pages should have come from.

    A placement that names nodes says so itself. For `local`, the CPU's node is
    not in the pages' record; the stand-in is every candidate but the node that
    supplied most of the pages (where the fallback went).
    """
    if placement.nodes:
        return frozenset(placement.nodes) & candidates
    known = {n: p for n, p in locality.pages_by_node.items() if n >= 0 and p > 0}
    top = max(known, key=lambda n: (known[n], -n)) if known else None
    return frozenset(n for n in candidates if n != top)


def with_reclaim_context(
    verdict: Verdict,
    placement: Placement,
    locality: Locality,
    under_reclaim: frozenset[int],
) -> Verdict:
    """`verdict` with "node N under reclaim" added when its expected node reclaims."""
    if verdict.kind not in AFFECTED_KINDS or not under_reclaim:
        return verdict
    nodes = sorted(expected_nodes(placement, locality, under_reclaim))
    if not nodes:
        return verdict
    word = "node" if len(nodes) == 1 else "nodes"
    return dataclasses.replace(
        verdict,
        text=f"{verdict.text}; {word} {format_list(nodes)} under reclaim",
        evidence={**verdict.evidence, EVIDENCE_KEY: nodes},
    )
