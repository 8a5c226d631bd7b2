"""The policy engine: judge every workload of a snapshot against the config."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from numascope.collectors.mempolicy import ProcessPolicy, read_process_policies
from numascope.config import Config, PolicyHolder, Rule
from numascope.policy.drift import judge_drift
from numascope.policy.judge import Verdict, judge
from numascope.policy.matching import facts_for, rule_for
from numascope.policy.window import RollingWindow
from numascope.snapshot import Finding, Locality, Severity, Snapshot, Workload, WorkloadKind

# Interrupts are not placed by process rules, and `other` is many owners at once.
JUDGED_KINDS = (WorkloadKind.PROCESS, WorkloadKind.KTHREAD)

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _finding(
    workload: Workload, rule: Rule, verdict: Verdict, locality: Locality, seconds: float
) -> Finding:
    who = f"{workload.name} (pid {workload.pid})" if workload.pid is not None else workload.name
    evidence: dict[str, object] = {
        "pages_by_node": {str(n): p for n, p in sorted(locality.pages_by_node.items())},
        "pages": locality.pages,
        "ratio": round(verdict.ratio, 4),
        "window_seconds": round(seconds, 3),
        "placement": rule.placement.describe(),
    }
    evidence.update(verdict.evidence)
    return Finding(
        workload_key=workload.key,
        workload_name=workload.name,
        rule=rule.name,
        kind=verdict.kind,
        severity=rule.severity or verdict.level,
        message=f"{who}: {verdict.text} over {seconds:.0f} s (rule '{rule.name}')",
        pid=workload.pid,
        evidence=evidence,
    )


def evaluate(
    snapshot: Snapshot,
    config: Config,
    kernel_policies: Mapping[int, ProcessPolicy] | None = None,
    *,
    window: RollingWindow | None = None,
) -> tuple[Finding, ...]:
    """Findings for every judged workload in `snapshot`, worst first.

    Traffic is judged over `window` when given (the snapshot is added to it),
    else over each workload's delta; a workload with fewer than `min-pages` in
    that span is not judged. Drift needs `kernel_policies` (pid -> policy).
    """
    if window is not None:
        window.add(snapshot)
        seconds = window.seconds
    else:
        seconds = snapshot.interval
    kernel_policies = kernel_policies or {}
    thresholds = config.thresholds
    findings: list[Finding] = []
    for workload in snapshot.processes:
        if workload.kind not in JUDGED_KINDS:
            continue
        kernel = kernel_policies.get(workload.pid) if workload.pid is not None else None
        rule = rule_for(config, facts_for(workload, kernel))
        locality = window.locality(workload.key) if window is not None else workload.delta
        if locality.pages >= max(thresholds.min_pages, 1):
            verdict = judge(rule.placement, locality, thresholds)
            if verdict is not None:
                findings.append(_finding(workload, rule, verdict, locality, seconds))
        if kernel is not None and workload.alive:
            drift = judge_drift(rule.placement, kernel)
            if drift is not None:
                findings.append(_finding(workload, rule, drift, locality, seconds))
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.workload_key, f.kind))
    return tuple(findings)


def with_findings(snapshot: Snapshot, findings: tuple[Finding, ...]) -> Snapshot:
    """The snapshot with `findings` attached (snapshots are immutable)."""
    return dataclasses.replace(snapshot, findings=findings)


def kernel_policies_for(snapshot: Snapshot, proc: str = "/proc") -> dict[int, ProcessPolicy]:
    """Read the kernel's policy for every live process in the snapshot."""
    pids = [
        w.pid
        for w in snapshot.processes
        if w.pid is not None and w.alive and w.kind in JUDGED_KINDS
    ]
    return read_process_policies(pids, proc)


class PolicyEngine:
    """What a long-running command keeps: the reloadable config and the rolling window."""

    def __init__(self, holder: PolicyHolder, proc: str | None = "/proc") -> None:
        self.holder = holder
        self.proc = proc
        self._window = RollingWindow(holder.config.thresholds.window_seconds)

    def judge(
        self, snapshot: Snapshot, kernel_policies: Mapping[int, ProcessPolicy] | None = None
    ) -> Snapshot:
        """The snapshot with its findings. Reads procfs for drift unless `proc` is None
        or `kernel_policies` is given (a replayed capture has no live processes)."""
        config = self.holder.config
        if self._window.length != config.thresholds.window_seconds:
            self._window = RollingWindow(config.thresholds.window_seconds)
        if kernel_policies is None and self.proc is not None:
            kernel_policies = kernel_policies_for(snapshot, self.proc)
        findings = evaluate(snapshot, config, kernel_policies, window=self._window)
        return with_findings(snapshot, findings)
