"""The policy engine: judge every workload of a snapshot against the config."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

from numascope.collectors.mempolicy import (
    ProcessPolicy,
    read_process_policies,
    read_process_policy,
)
from numascope.config import Config, PolicyHolder, Rule
from numascope.policy.balancing import judge_balancing
from numascope.policy.irq import judge_irqs
from numascope.policy.judge import DRIFT, RESIDENT_OUTSIDE_BIND, Verdict, judge
from numascope.policy.matching import RuleMemo
from numascope.policy.migration import judge_migrations
from numascope.policy.reclaim_context import nodes_under_reclaim, with_reclaim_context
from numascope.policy.residence import judge_residence
from numascope.policy.window import RollingWindow
from numascope.snapshot.columns import WorkloadColumns
from numascope.snapshot.model import Finding, Locality, Severity, Snapshot, Workload, WorkloadKind

# Interrupts are not placed by process rules, and `other` is many owners at once.
JUDGED_KINDS = (WorkloadKind.PROCESS, WorkloadKind.KTHREAD)

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _finding(
    workload: Workload, rule: Rule, verdict: Verdict, locality: Locality, seconds: float
) -> Finding:
    who = f"{workload.name} (pid {workload.pid})" if workload.pid is not None else workload.name
    # Drift and residence are states, not traffic over the window.
    span = "" if verdict.kind in (DRIFT, RESIDENT_OUTSIDE_BIND) else f" over {seconds:.0f} s"
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
        message=f"{who}: {verdict.text}{span} (rule '{rule.name}')",
        pid=workload.pid,
        evidence=evidence,
    )


def evaluate(
    snapshot: Snapshot,
    config: Config,
    kernel_policies: Mapping[int, ProcessPolicy] | None = None,
    *,
    window: RollingWindow | None = None,
    memo: RuleMemo | None = None,
) -> tuple[Finding, ...]:
    """Findings for every judged workload in `snapshot`, worst first.

    Traffic is judged over `window` when given (the snapshot is added to it),
    else over each workload's delta; a workload with fewer than `min-pages` in
    that span is not judged. Drift needs `kernel_policies` (pid -> policy).
    `memo` keeps rules and drift verdicts from one call to the next.
    """
    processes = snapshot.processes
    # Read as columns (a tuple is read into them once): a Workload object is
    # built only for a finding.
    table = WorkloadColumns.of(processes)
    if window is not None:
        window.add(snapshot, table)
        seconds = window.seconds
    else:
        seconds = snapshot.interval
    kernel_policies = kernel_policies or {}
    memo = memo or RuleMemo()
    memo.next_poll()
    thresholds = config.thresholds
    min_pages = max(thresholds.min_pages, 1)
    findings: list[Finding] = []
    under_reclaim = nodes_under_reclaim(snapshot)

    keys = table.keys.tolist()
    if window is not None:
        span_pages, span_remote = window.totals(keys)
    else:
        span_pages = table.delta_page_counts
        span_remote = table.delta_split[:, 1]
    # Under `local` a remote share below the warning threshold is no verdict
    # (judge_local says the same): most workloads on most hosts, told apart
    # here for all of them at once. The margin leaves a share at the threshold
    # itself to judge_local's own arithmetic.
    quiet = (
        (span_remote == 0)
        | (span_remote < span_pages * thresholds.remote_ratio_warning * (1 - 1e-9))
    ).tolist()
    pages_of = span_pages.tolist()
    names, cgroups = table.names.tolist(), table.cgroups.tolist()

    def span(i: int) -> Locality:
        """Row i's traffic being judged: over the window, else its delta."""
        return window.locality(keys[i]) if window is not None else processes[i].delta

    for i, (key, kind, pid, alive) in enumerate(
        zip(keys, table.kinds.tolist(), table.pids.tolist(), table.alive.tolist(), strict=True)
    ):
        if kind not in JUDGED_KINDS:
            continue
        kernel = kernel_policies.get(pid) if pid is not None else None
        pages = pages_of[i]
        drift_kernel = kernel if alive else None
        if pages < min_pages and drift_kernel is None:
            continue  # nothing to judge: most workloads, most polls
        rule = memo.rule_of(config, key, names[i], pid, cgroups[i], kernel)
        judged = pages >= min_pages and not (quiet[i] and rule.placement.local)
        locality = span(i) if judged else None
        if locality is not None:
            verdict = judge(rule.placement, locality, thresholds)
            if verdict is not None:
                verdict = with_reclaim_context(verdict, rule.placement, locality, under_reclaim)
                findings.append(_finding(processes[i], rule, verdict, locality, seconds))
        if drift_kernel is not None:
            drift = memo.drift(key, rule.placement, drift_kernel)
            resident = judge_residence(rule.placement, drift_kernel, thresholds)
            for state in (v for v in (drift, resident) if v is not None):
                # Summed only now, for the finding, when the traffic was not judged.
                locality = locality if locality is not None else span(i)
                findings.append(_finding(processes[i], rule, state, locality, seconds))
    findings.extend(judge_irqs(snapshot, thresholds.irq))
    findings.extend(judge_balancing(snapshot))
    if snapshot.migrations is not None and snapshot.migrations.rows:
        rule_of = _rules_by_key(processes, table, config, kernel_policies, memo)
        findings.extend(judge_migrations(snapshot.migrations, rule_of, thresholds))
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.workload_key, f.kind))
    return tuple(findings)


def _rules_by_key(
    processes: Sequence[Workload],
    table: WorkloadColumns,
    config: Config,
    kernel_policies: Mapping[int, ProcessPolicy],
    memo: RuleMemo,
) -> Callable[[str], tuple[Workload, Rule] | None]:
    """The workload and rule of a process key, for judges outside the main loop."""
    row_of = {k: i for i, k in enumerate(table.keys.tolist())}
    names, pids, cgroups = table.names.tolist(), table.pids.tolist(), table.cgroups.tolist()

    def rule_of(key: str) -> tuple[Workload, Rule] | None:
        i = row_of.get(key)
        if i is None:
            return None
        kernel = kernel_policies.get(pids[i]) if pids[i] is not None else None
        return processes[i], memo.rule_of(config, key, names[i], pids[i], cgroups[i], kernel)

    return rule_of


def with_findings(snapshot: Snapshot, findings: tuple[Finding, ...]) -> Snapshot:
    """The snapshot with `findings` attached (snapshots are immutable)."""
    return dataclasses.replace(snapshot, findings=findings)


def _judged_pids(snapshot: Snapshot) -> list[int]:
    table = WorkloadColumns.of(snapshot.processes)
    return [
        pid
        for pid, alive, kind in zip(
            table.pids.tolist(), table.alive.tolist(), table.kinds.tolist(), strict=True
        )
        if pid is not None and alive and kind in JUDGED_KINDS
    ]


# Kernel policies read per poll at most, and the time those reads may take
# (see PolicyEngine.kernel_policies).
POLICY_READS_PER_POLL = 32
POLICY_READ_SECONDS = 0.004


class PolicyEngine:
    """What a long-running command keeps: the reloadable config, the rolling window,
    the rules chosen so far, and the kernel policies read from procfs.

    Reading a policy means reading numa_maps, which walks the process's page
    tables: 0.25 ms for a small process here, far more for a large one. Each
    pid's policy is re-read once it is a window old, and per poll at most
    `reads_per_poll` are read, and no more once `read_seconds` have gone on
    reading (one at least), new processes first, then the longest unread: a
    host with 10,000 processes would otherwise spend seconds re-reading them
    all in one poll every window, and a few processes of hundreds of
    gigabytes would make every poll that long. With 10,000 small processes,
    each is re-read about every 10,000 / 16 polls.
    """

    def __init__(
        self,
        holder: PolicyHolder,
        proc: str | None = "/proc",
        clock: Callable[[], float] = time.monotonic,
        reads_per_poll: int = POLICY_READS_PER_POLL,
        read_seconds: float = POLICY_READ_SECONDS,
    ) -> None:
        self.holder = holder
        self.proc = proc
        self.reads_per_poll = reads_per_poll
        self.read_seconds = read_seconds
        self._clock = clock
        self._window = RollingWindow(holder.config.thresholds.window_seconds)
        self._memo = RuleMemo()
        self._policies: dict[int, tuple[float, ProcessPolicy | None]] = {}

    def kernel_policies(self, snapshot: Snapshot) -> dict[int, ProcessPolicy]:
        """The cached kernel policies of the snapshot's live processes."""
        if self.proc is None:
            return {}
        now = self._clock()
        max_age = self.holder.config.thresholds.window_seconds
        fresh: dict[int, tuple[float, ProcessPolicy | None]] = {}
        unread: list[int] = []
        old: list[int] = []
        for pid in _judged_pids(snapshot):
            cached = self._policies.get(pid)
            if cached is None:
                unread.append(pid)
                continue
            fresh[pid] = cached
            if now - cached[0] >= max_age:
                old.append(pid)
        old.sort(key=lambda pid: fresh[pid][0])
        for count, pid in enumerate((unread + old)[: self.reads_per_poll]):
            if count and self._clock() - now >= self.read_seconds:
                break  # the rest wait for the next poll, first in line
            fresh[pid] = (now, read_process_policy(pid, proc=self.proc))
        self._policies = fresh
        return {pid: policy for pid, (_, policy) in fresh.items() if policy is not None}

    def rule_for(self, workload: Workload, kernel: ProcessPolicy | None) -> Rule:
        """The rule the workload falls under (remembered as judging remembers it)."""
        w = workload
        return self._memo.rule_of(self.holder.config, w.key, w.name, w.pid, w.cgroup, kernel)

    def judge(
        self, snapshot: Snapshot, kernel_policies: Mapping[int, ProcessPolicy] | None = None
    ) -> Snapshot:
        """The snapshot with its findings. Reads procfs for drift unless `proc` is None
        or `kernel_policies` is given (a replayed capture has no live processes)."""
        config = self.holder.config
        if self._window.length != config.thresholds.window_seconds:
            self._window = RollingWindow(config.thresholds.window_seconds)
        if kernel_policies is None:
            kernel_policies = self.kernel_policies(snapshot)
        findings = evaluate(snapshot, config, kernel_policies, window=self._window, memo=self._memo)
        return with_findings(snapshot, findings)


def findings_for_pid(
    snapshot: Snapshot, pid: int, config: Config, proc: str | None = "/proc"
) -> tuple[Finding, ...]:
    """The findings about one process in `snapshot` (its kernel policy read from `proc`)."""
    policies = read_process_policies([pid], proc) if proc is not None else {}
    return tuple(f for f in evaluate(snapshot, config, policies) if f.pid == pid)
