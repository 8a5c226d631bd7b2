"""--redact: names, command lines and cgroups become stable tokens, nothing leaks."""

from __future__ import annotations

import gzip
from pathlib import Path

from numascope.capture.file import read_capture
from numascope.capture.redact import Redactor
from numascope.snapshot.model import Workload, WorkloadKind
from tests.fixtures import streams
from tests.fixtures.capture_files import header, write_capture

SECRETS = ("postgres", "nginx", "sshd", "system.slice", "/srv/pg", "db-host-1", "init.scope")


def redacted_capture(tmp_path: Path) -> Path:
    redactor = Redactor()
    snaps = [redactor.snapshot(s) for s in streams.policy_violation()]
    return write_capture(tmp_path / "r.gz", snaps, redactor.header(header()))


def test_no_name_command_line_or_cgroup_survives(tmp_path: Path) -> None:
    text = gzip.decompress(redacted_capture(tmp_path).read_bytes()).decode()
    for secret in SECRETS:
        assert secret not in text, secret


def test_the_same_name_gets_the_same_token_across_the_file(tmp_path: Path) -> None:
    capture = read_capture(redacted_capture(tmp_path))
    tokens = {w.name for s in capture.snapshots for w in s.processes if w.pid == 5151}
    assert len(tokens) == 1
    token = tokens.pop()
    assert token.startswith("comm-")
    assert {f.workload_name for s in capture.snapshots for f in s.findings} == {token}
    assert all(f.message.startswith(f"{token} (pid 5151)") for f in capture.snapshots[0].findings)
    assert capture.header.workloads[0].comm == token
    # Two nginx processes share a name, so they share a token; pids stay.
    nginx = {w.pid: w.name for w in capture.snapshots[0].processes if w.pid in (2301, 2302)}
    assert len(set(nginx.values())) == 1
    assert capture.header.redacted


def test_cgroup_paths_keep_their_shape() -> None:
    r = Redactor(key=b"k")
    a = r.cgroup("/system.slice/postgresql.service")
    b = r.cgroup("/system.slice/nginx.service")
    assert a is not None and b is not None
    assert a.count("/") == 2 and a.split("/")[1] == b.split("/")[1] != "system.slice"
    assert r.cgroup("/") == "/"
    assert Redactor(key=b"k").cgroup("/system.slice/postgresql.service") == a
    assert Redactor(key=b"other").cgroup("/system.slice/postgresql.service") != a


def test_kernel_threads_and_interrupts_keep_their_names() -> None:
    loc = streams.locality({0: 1}, 0)
    r = Redactor()
    for kind, name in (
        (WorkloadKind.KTHREAD, "kswapd0"),
        (WorkloadKind.SOFTIRQ, "[softirq:NET_RX]"),
    ):
        assert r.workload(Workload("k", kind, name, loc, loc)).name == name


def test_policy_match_values_are_tokenised_but_rule_names_kept() -> None:
    policy = {"rules": [{"name": "database", "match": {"comm": "postgres*", "pid": 7}}]}
    out = Redactor().policy(policy)
    rule = out["rules"][0]  # type: ignore[index]
    assert rule["name"] == "database"
    assert rule["match"]["pid"] == 7
    assert "postgres" not in str(out)
