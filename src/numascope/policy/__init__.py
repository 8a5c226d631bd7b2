"""Placement policy: judge snapshots against the configured rules.

`evaluate(snapshot, config, kernel_policies)` returns findings;
`PolicyEngine` wraps it for long-running commands (rolling window, SIGHUP reload).
"""

from numascope.policy.drift import judge_drift
from numascope.policy.engine import (
    JUDGED_KINDS,
    PolicyEngine,
    evaluate,
    findings_for_pid,
    with_findings,
)
from numascope.policy.judge import (
    DRIFT,
    FINDING_KINDS,
    INTERLEAVE_IMBALANCE,
    OUTSIDE_BIND,
    PREFERRED_FALLBACK,
    REMOTE_ALLOCATION,
    Verdict,
    judge,
)
from numascope.policy.matching import WorkloadFacts, facts_of, matches, rule_for
from numascope.policy.window import RollingWindow

__all__ = [
    "DRIFT",
    "FINDING_KINDS",
    "INTERLEAVE_IMBALANCE",
    "JUDGED_KINDS",
    "OUTSIDE_BIND",
    "PREFERRED_FALLBACK",
    "REMOTE_ALLOCATION",
    "PolicyEngine",
    "RollingWindow",
    "Verdict",
    "WorkloadFacts",
    "evaluate",
    "facts_of",
    "findings_for_pid",
    "judge",
    "judge_drift",
    "matches",
    "rule_for",
    "with_findings",
]
