"""Which rule a workload falls under: the first rule whose match holds, else the default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from numascope.collectors.mempolicy import ProcessPolicy
from numascope.config import Config, Match, Placement, Rule
from numascope.policy.drift import judge_drift
from numascope.policy.judge import Verdict

DEFAULT_RULE_NAME = "default"

# What a rule was chosen on, besides the config: name, pid, cgroup, kernel policy.
_Seen = tuple[str, int | None, str | None, ProcessPolicy | None]


def _same(a: _Seen, b: _Seen) -> bool:
    # The kernel policy by identity: a policy read again is judged again.
    return a[3] is b[3] and a[0] == b[0] and a[1] == b[1] and a[2] == b[2]


@dataclass(frozen=True)
class WorkloadFacts:
    """What rules can match on; None where numascope could not learn it."""

    comm: str
    pid: int | None = None
    exe: str | None = None
    cgroup: str | None = None
    uid: int | None = None
    user: str | None = None


def facts_of(
    name: str, pid: int | None, cgroup: str | None, kernel: ProcessPolicy | None
) -> WorkloadFacts:
    """What rules can match on: a workload's name, pid and cgroup, with what
    procfs said about the process (`kernel`) where it was read."""
    if kernel is None:
        return WorkloadFacts(comm=name, pid=pid, cgroup=cgroup)
    return WorkloadFacts(
        comm=name or kernel.comm,
        pid=pid,
        exe=kernel.exe,
        cgroup=cgroup or kernel.cgroup,
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
        # workload key -> (name, pid, cgroup, kernel policy) and the rule they chose
        self._by_key: dict[str, tuple[_Seen, Rule]] = {}
        self._by_key_before: dict[str, tuple[_Seen, Rule]] = {}

    def next_poll(self) -> None:
        self._rules_before, self._rules = self._rules, {}
        self._drift_before, self._drift = self._drift, {}
        self._by_key_before, self._by_key = self._by_key, {}

    def rule_of(
        self,
        config: Config,
        key: str,
        name: str,
        pid: int | None,
        cgroup: str | None,
        kernel: ProcessPolicy | None,
    ) -> Rule:
        """`rule_for` the facts of workload `key`, without building them when its
        name, pid, cgroup and kernel policy read are those of the last call."""
        seen = (name, pid, cgroup, kernel)
        found = self._by_key.get(key) or self._by_key_before.get(key)
        if config is self._config and found is not None and _same(found[0], seen):
            rule = found[1]
        else:
            rule = self.rule_for(config, facts_of(name, pid, cgroup, kernel))
        self._by_key[key] = (seen, rule)
        return rule

    def rule_for(self, config: Config, facts: WorkloadFacts) -> Rule:
        if config is not self._config:
            self._config = config
            self._rules_before, self._drift_before = {}, {}
            self._rules, self._drift = {}, {}
            self._by_key_before, self._by_key = {}, {}
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
