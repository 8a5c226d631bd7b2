"""Judging one workload's pages against its expected placement.

Each judge returns a `Verdict` (what is wrong, how badly, with evidence) or None
when the pages fit the placement. Pages whose node is unknown (-1) say nothing
about which node served them, so node-set judges leave them out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from numascope.config import Placement, Thresholds
from numascope.snapshot.model import Locality, Severity
from numascope.topology import format_list

REMOTE_ALLOCATION = "remote-allocation"
OUTSIDE_BIND = "outside-bind"
PREFERRED_FALLBACK = "preferred-fallback"
INTERLEAVE_IMBALANCE = "interleave-imbalance"
DRIFT = "policy-drift"
# Memory resident off a bind rule's nodes, whatever its allocations did (residence.py).
RESIDENT_OUTSIDE_BIND = "resident-outside-bind"
# Judged on migrations, not allocations: policy/migration.py.
MIGRATED_OFF_RULE = "migrated-off-rule"

FINDING_KINDS = (
    REMOTE_ALLOCATION,
    OUTSIDE_BIND,
    PREFERRED_FALLBACK,
    INTERLEAVE_IMBALANCE,
    DRIFT,
    RESIDENT_OUTSIDE_BIND,
    MIGRATED_OFF_RULE,
)


@dataclass(frozen=True)
class Verdict:
    kind: str
    level: Severity
    ratio: float
    text: str
    evidence: Mapping[str, object] = field(default_factory=dict)


def level_for(ratio: float, warning: float, critical: float) -> Severity | None:
    """WARNING or CRITICAL by threshold; None when the ratio is fine (or zero)."""
    if ratio <= 0 or ratio < warning:
        return None
    return Severity.CRITICAL if ratio >= critical else Severity.WARNING


def _known(locality: Locality) -> dict[int, int]:
    return {n: p for n, p in locality.pages_by_node.items() if n >= 0 and p > 0}


def _outside_share(
    locality: Locality, allowed: tuple[int, ...]
) -> tuple[float, int, dict[int, int]] | None:
    known = _known(locality)
    total = sum(known.values())
    if not total:
        return None
    outside = {n: p for n, p in known.items() if n not in allowed}
    return sum(outside.values()) / total, total, outside


def judge_local(placement: Placement, loc: Locality, th: Thresholds) -> Verdict | None:
    ratio = loc.remote_ratio
    level = level_for(ratio, th.remote_ratio_warning, th.remote_ratio_critical)
    if level is None:
        return None
    text = f"{ratio:.0%} of {loc.pages} pages came from a remote node; expected local"
    return Verdict(REMOTE_ALLOCATION, level, ratio, text)


def judge_bind(placement: Placement, loc: Locality, th: Thresholds) -> Verdict | None:
    share = _outside_share(loc, placement.nodes)
    if share is None:
        return None
    ratio, total, outside = share
    level = level_for(ratio, th.remote_ratio_warning, th.remote_ratio_critical)
    if level is None:
        return None
    text = (
        f"{ratio:.0%} of {total} pages came from node {format_list(outside)}, "
        f"outside bind:{format_list(placement.nodes)}"
    )
    return Verdict(OUTSIDE_BIND, level, ratio, text, {"outside_nodes": sorted(outside)})


def judge_preferred(placement: Placement, loc: Locality, th: Thresholds) -> Verdict | None:
    share = _outside_share(loc, placement.nodes)
    if share is None:
        return None
    ratio, total, outside = share
    level = level_for(ratio, th.remote_ratio_warning, th.remote_ratio_critical)
    if level is None:
        return None
    which = "node" if len(placement.nodes) == 1 else "nodes"
    text = (
        f"{ratio:.0%} of {total} pages fell back to node {format_list(outside)} "
        f"instead of preferred {which} {format_list(placement.nodes)}"
    )
    return Verdict(PREFERRED_FALLBACK, level, ratio, text, {"fallback_nodes": sorted(outside)})


def judge_interleave(placement: Placement, loc: Locality, th: Thresholds) -> Verdict | None:
    known = _known(loc)
    total = sum(known.values())
    if not total:
        return None
    targets = placement.target_shares()
    shares = {n: known.get(n, 0) / total for n in targets}
    outside = sum(p for n, p in known.items() if n not in targets) / total
    deviations = {n: abs(shares[n] - targets[n]) for n in targets}
    worst = max(deviations, key=lambda n: (deviations[n], -n))
    ratio = max(deviations[worst], outside)
    level = level_for(ratio, th.interleave_tolerance, th.interleave_critical)
    if level is None:
        return None
    if outside >= deviations[worst]:
        text = f"{outside:.0%} of {total} pages came from outside interleave nodes"
    else:
        text = (
            f"node {worst} has {shares[worst]:.0%} of {total} interleaved pages, "
            f"expected {targets[worst]:.0%}"
        )
    evidence = {
        "shares": {str(n): round(s, 4) for n, s in shares.items()},
        "targets": {str(n): round(t, 4) for n, t in targets.items()},
    }
    return Verdict(INTERLEAVE_IMBALANCE, level, ratio, text, evidence)


JUDGES: dict[str, Callable[[Placement, Locality, Thresholds], Verdict | None]] = {
    "local": judge_local,
    "bind": judge_bind,
    "preferred": judge_preferred,
    "preferred-many": judge_preferred,
    "interleave": judge_interleave,
}


def judge(placement: Placement, locality: Locality, thresholds: Thresholds) -> Verdict | None:
    """The verdict for pages `locality` under `placement`, or None when they fit."""
    return JUDGES[placement.kind](placement, locality, thresholds)
