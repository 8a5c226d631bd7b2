"""Which rule a workload falls under: the first rule whose match holds, else the default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.config import Config, Match, Placement, Rule
from numascope.policy.drift import judge_drift
from numascope.policy.judge import Verdict
from numascope.snapshot import Workload

DEFAULT_RULE_NAME = "default"


@dataclass(frozen=True)
class WorkloadFacts:
    """What rules can match on; None where numascope could not learn it."""

    comm: str
    pid: int | None = None
    exe: str | None = None
    cgroup: str | None = None
    uid: int | None = None
    user: str | None = None


def facts_for(workload: Workload, kernel: ProcessPolicy | None = None) -> WorkloadFacts:
    """Combine the snapshot's view of a workload with what procfs said about it."""
    if kernel is None:
        return WorkloadFacts(comm=workload.name, pid=workload.pid, cgroup=workload.cgroup)
    return WorkloadFacts(
        comm=workload.name or kernel.comm,
        pid=workload.pid,
        exe=kernel.exe,
        cgroup=workload.cgroup or kernel.cgroup,
        uid=kernel.uid,
        user=kernel.user,
    )


def _glob(value: str | None, pattern: str | None) -> bool:
    return pattern is None or (value is not None and fnmatchcase(value, pattern))


def _user(facts: WorkloadFacts, wanted: str | int | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, int):
        return facts.uid == wanted
    if facts.user is not None and facts.user == wanted:
        return True
    return wanted.isdigit() and facts.uid == int(wanted)


def matches(match: Match, facts: WorkloadFacts) -> bool:
    """Whether every key of `match` holds for the workload."""
    if match.comm_regex is not None and re.search(match.comm_regex, facts.comm) is None:
        return False
    if match.pid is not None and facts.pid != match.pid:
        return False
    return (
        _glob(facts.comm, match.comm)
        and _glob(facts.exe, match.exe)
        and _glob(facts.cgroup, match.cgroup)
        and _user(facts, match.user)
    )


def default_rule(config: Config) -> Rule:
    """The config's default as a rule named `default`."""
    return Rule(
        name=DEFAULT_RULE_NAME,
        placement=config.default.placement,
        severity=config.default.severity,
    )


def rule_for(config: Config, facts: WorkloadFacts) -> Rule:
    """The first matching rule, or the default rule."""
    for rule in config.rules:
        if matches(rule.match, facts):
            return rule
    return default_rule(config)


class RuleMemo:
    """The rule (and drift verdict) of each workload, remembered for one config.

    A long-running command judges the same thousands of processes every poll,
    and their facts rarely change; a new config starts afresh. What was not asked
    for in the last poll is forgotten at the next (`next_poll`), so memory follows
    the workloads there are, not every process a spawn storm ever made."""

    def __init__(self) -> None:
        self._config: Config | None = None
        self._rules: dict[WorkloadFacts, Rule] = {}
        self._rules_before: dict[WorkloadFacts, Rule] = {}
        # workload key -> (the kernel policy and placement judged, the verdict)
        self._drift: dict[str, tuple[ProcessPolicy, Placement, Verdict | None]] = {}
        self._drift_before: dict[str, tuple[ProcessPolicy, Placement, Verdict | None]] = {}

    def next_poll(self) -> None:
        self._rules_before, self._rules = self._rules, {}
        self._drift_before, self._drift = self._drift, {}

    def rule_for(self, config: Config, facts: WorkloadFacts) -> Rule:
        if config is not self._config:
            self._config = config
            self._rules_before, self._drift_before = {}, {}
            self._rules, self._drift = {}, {}
        found = self._rules.get(facts)
        if found is None:
            found = self._rules_before.get(facts)
            if found is None:
                found = rule_for(config, facts)
            self._rules[facts] = found
        return found

    def drift(self, key: str, placement: Placement, kernel: ProcessPolicy) -> Verdict | None:
        """judge_drift for workload `key`, again only when the kernel policy read
        or the placement changed."""
        seen = self._drift.get(key) or self._drift_before.get(key)
        if seen is not None and seen[0] is kernel and seen[1] is placement:
            verdict = seen[2]
        else:
            verdict = judge_drift(placement, kernel)
        self._drift[key] = (kernel, placement, verdict)
        return verdict
