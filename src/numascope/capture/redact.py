"""Replace names a company may not share (comm, command lines, cgroups) by tokens.

Tokens are keyed hashes (HMAC-SHA256) under a key made for one capture and
never written: the same name gives the same token everywhere in the file, so
rows can still be followed across snapshots, but a short name like `postgres`
cannot be found again by hashing guesses. Cgroup paths are hashed per
component so the hierarchy stays readable. Kernel threads and interrupts keep
their names: the kernel, not the user, chose them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Mapping

from numascope.capture.model import CaptureHeader, ProcessFacts
from numascope.snapshot.balancing import BalancingSection
from numascope.snapshot.migration import MigrationSection
from numascope.snapshot.model import Finding, PodIdentity, Snapshot, Workload, WorkloadKind
from numascope.snapshot.sections import AllocatorSection, DirectReclaim, HighOrderSite

_NAMED_BY_USER = (WorkloadKind.PROCESS, WorkloadKind.CGROUP)


class Redactor:
    """Stable tokens for one capture."""

    def __init__(self, key: bytes | None = None) -> None:
        self._secret = key if key is not None else os.urandom(32)

    def token(self, kind: str, text: str) -> str:
        digest = hmac.new(self._secret, f"{kind}\0{text}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:10]}"

    def comm(self, name: str) -> str:
        return self.token("comm", name)

    def cgroup(self, path: str | None) -> str | None:
        if path is None:
            return None
        parts = [self.token("cg", p) if p else p for p in path.split("/")]
        return "/".join(parts) or "/"

    def cmdline(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        return (self.token("cmd", "\0".join(argv)),) if argv else ()

    def optional(self, kind: str, text: str | None) -> str | None:
        return self.token(kind, text) if text else text

    # --- snapshots -------------------------------------------------------------

    def workload(self, w: Workload) -> Workload:
        if w.kind is WorkloadKind.CGROUP:
            path = self.cgroup(w.cgroup or w.name) or "/"
            return dataclasses.replace(
                w, key=f"cgroup:{path}", name=path, cgroup=path, pod=self.pod(w.pod)
            )
        name = self.comm(w.name) if w.kind in _NAMED_BY_USER else w.name
        return dataclasses.replace(w, name=name, cgroup=self.cgroup(w.cgroup), pod=self.pod(w.pod))

    def pod(self, pod: PodIdentity | None) -> PodIdentity | None:
        """A pod's UID and container id as tokens (they find the pod in the
        cluster's API); the QoS class stays."""
        if pod is None:
            return None
        container = self.optional("ctr", pod.container_id) or ""
        return PodIdentity(self.token("pod", pod.pod_uid), container, pod.qos)

    def _key(self, key: str) -> str:
        if key.startswith("cgroup:"):
            return f"cgroup:{self.cgroup(key.removeprefix('cgroup:'))}"
        return key

    def finding(self, f: Finding, names: Mapping[str, str]) -> Finding:
        name = names.get(f.workload_key, f.workload_name)
        message = f.message
        if message.startswith(f.workload_name):
            # The message opens with who it is about ("dd (pid 12): ...").
            message = name + message[len(f.workload_name) :]
        return dataclasses.replace(
            f, workload_key=self._key(f.workload_key), workload_name=name, message=message
        )

    def direct_reclaim(self, d: DirectReclaim, names: Mapping[str, str]) -> DirectReclaim:
        name = names.get(d.workload_key) or self.comm(d.workload_name)
        return dataclasses.replace(d, workload_key=self._key(d.workload_key), workload_name=name)

    def high_order_site(self, site: HighOrderSite, names: Mapping[str, str]) -> HighOrderSite:
        # Sites of no process (interrupts, the idle task) keep the kernel's name.
        name = names.get(site.workload_key)
        if name is None and site.workload_key.startswith("pid:"):
            name = self.comm(site.workload_name)
        return dataclasses.replace(site, workload_name=name or site.workload_name)

    def allocator(
        self, a: AllocatorSection | None, names: Mapping[str, str]
    ) -> AllocatorSection | None:
        if a is None:
            return None
        sites = tuple(self.high_order_site(site, names) for site in a.high_order_sites)
        return dataclasses.replace(a, high_order_sites=sites)

    def balancing(
        self, b: BalancingSection | None, names: Mapping[str, str]
    ) -> BalancingSection | None:
        """Process names and cgroup paths of the balancing section as tokens."""
        if b is None:
            return None
        rows = tuple(
            dataclasses.replace(p, name=names.get(f"pid:{p.pid}") or self.comm(p.name))
            for p in b.processes
        )
        cgroups = tuple(dataclasses.replace(c, path=self.cgroup(c.path) or "/") for c in b.cgroups)
        return dataclasses.replace(b, processes=rows, cgroups=cgroups)

    def migrations(
        self, m: MigrationSection | None, names: Mapping[str, str]
    ) -> MigrationSection | None:
        """Process names as tokens; kernel threads and "other" keep theirs."""
        if m is None:
            return None
        rows = tuple(
            r
            if r.kernel_thread or not r.tgid
            else dataclasses.replace(r, name=names.get(r.workload_key) or self.comm(r.name))
            for r in m.rows
        )
        # Task moves are NUMA balancing's, of user processes' threads: every name a token.
        moves = tuple(
            dataclasses.replace(t, name=names.get(t.workload_key) or self.comm(t.name))
            if t.tgid
            else t
            for t in m.task_moves
        )
        return dataclasses.replace(m, rows=rows, task_moves=moves)

    def snapshot(self, s: Snapshot) -> Snapshot:
        processes = tuple(self.workload(w) for w in s.processes)
        names = {old.key: new.name for old, new in zip(s.processes, processes, strict=True)}
        return dataclasses.replace(
            s,
            host=dataclasses.replace(s.host, hostname=self.token("host", s.host.hostname)),
            processes=processes,
            cgroups=tuple(self.workload(w) for w in s.cgroups),
            findings=tuple(self.finding(f, names) for f in s.findings),
            direct_reclaim=tuple(self.direct_reclaim(d, names) for d in s.direct_reclaim),
            allocator=self.allocator(s.allocator, names),
            balancing=self.balancing(s.balancing, names),
            migrations=self.migrations(s.migrations, names),
        )

    # --- header ----------------------------------------------------------------

    def process_facts(self, p: ProcessFacts) -> ProcessFacts:
        return dataclasses.replace(
            p,
            comm=self.comm(p.comm),
            cmdline=self.cmdline(p.cmdline),
            exe=self.optional("exe", p.exe),
            user=self.optional("user", p.user),
            cgroup=self.cgroup(p.cgroup),
            cpuset=self.cgroup(p.cpuset),
        )

    def policy(self, policy: Mapping[str, object]) -> dict[str, object]:
        """The config with every match value tokenised (globs name workloads too)."""
        out = dict(policy)
        rules = policy.get("rules")
        if isinstance(rules, list):
            out["rules"] = [self._rule(r) for r in rules]
        return out

    def _rule(self, rule: object) -> object:
        if not isinstance(rule, dict) or not isinstance(rule.get("match"), dict):
            return rule
        match = {
            k: v if v is None or k == "pid" else self.token(f"match-{k}", str(v))
            for k, v in rule["match"].items()
        }
        return {**rule, "match": match}

    def header(self, h: CaptureHeader) -> CaptureHeader:
        return dataclasses.replace(
            h,
            host=self.token("host", h.host),
            redacted=True,
            policy=self.policy(h.policy),
            policy_path=self.optional("path", h.policy_path),
            workloads=tuple(self.process_facts(p) for p in h.workloads),
        )
