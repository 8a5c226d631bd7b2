"""The numa_maps parser and the per-process policy reader."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from numascope.collectors import mempolicy
from numascope.collectors.mempolicy import (
    MODES,
    MemPolicy,
    dominant_policy,
    parse_numa_maps,
    parse_numa_maps_line,
    parse_policy,
    read_process_policies,
    read_process_policy,
)

PROC = Path(__file__).parent.parent / "fixtures" / "proc"


@pytest.mark.parametrize(
    ("text", "mode", "flags", "nodes", "printed"),
    [
        ("default", "default", (), (), "default"),
        ("local", "local", (), (), "local"),
        ("prefer:1", "prefer", (), (1,), "prefer:1"),
        ("prefer=static:1", "prefer", ("static",), (1,), "prefer=static:1"),
        ("bind:0-1", "bind", (), (0, 1), "bind:0-1"),
        ("bind=relative:1,3", "bind", ("relative",), (1, 3), "bind=relative:1,3"),
        ("interleave:0-3", "interleave", (), (0, 1, 2, 3), "interleave:0-3"),
        (
            "interleave=static|balancing:0,2",
            "interleave",
            ("static", "balancing"),
            (0, 2),
            "interleave=static|balancing:0,2",
        ),
        ("weighted interleave:0-1", "weighted interleave", (), (0, 1), "weighted interleave:0-1"),
        (
            "weighted interleave=static:2",
            "weighted interleave",
            ("static",),
            (2,),
            "weighted interleave=static:2",
        ),
        ("prefer (many):0-2", "prefer (many)", (), (0, 1, 2), "prefer (many):0-2"),
        (
            "prefer (many)=balancing:1",
            "prefer (many)",
            ("balancing",),
            (1,),
            "prefer (many)=balancing:1",
        ),
        ("bind=balancing", "bind", ("balancing",), (), "bind=balancing"),
    ],
)
def test_parse_policy_every_word(
    text: str, mode: str, flags: tuple[str, ...], nodes: tuple[int, ...], printed: str
) -> None:
    policy = parse_policy(text)
    assert policy == MemPolicy(mode, flags, nodes)
    assert str(policy) == printed


def test_every_kernel_mode_is_parsed() -> None:
    assert {parse_policy(m).mode for m in MODES} == set(MODES)


@pytest.mark.parametrize("text", ["", "preferred:1", "bind:x", "bind;1", "interleave :1", "BIND:1"])
def test_parse_policy_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_policy(text)


@pytest.mark.parametrize(
    ("line", "policy", "pages", "file", "attributes"),
    [
        (
            "55fcc49be000 bind:0 file=/usr/bin/cat mapped=2 N0=2 kernelpagesize_kB=4",
            "bind:0",
            {0: 2},
            "/usr/bin/cat",
            {"mapped": "2", "kernelpagesize_kB": "4"},
        ),
        (
            "7f0000000000 weighted interleave:0-1 anon=3000 dirty=3000 N0=2000 N1=1000 "
            "kernelpagesize_kB=4",
            "weighted interleave:0-1",
            {0: 2000, 1: 1000},
            None,
            {"anon": "3000", "dirty": "3000", "kernelpagesize_kB": "4"},
        ),
        (
            "7f0100000000 prefer (many)=static:0-1 anon=512 N0=300 N1=212 kernelpagesize_kB=4",
            "prefer (many)=static:0-1",
            {0: 300, 1: 212},
            None,
            {"anon": "512", "kernelpagesize_kB": "4"},
        ),
        (
            "5612b7a3c000 default heap anon=33 dirty=33 N0=20 N1=13 kernelpagesize_kB=4",
            "default",
            {0: 20, 1: 13},
            None,
            {"heap": "", "anon": "33", "dirty": "33", "kernelpagesize_kB": "4"},
        ),
        (
            "7ffd5b9e4000 local stack anon=9 dirty=9 active=0 N0=9 kernelpagesize_kB=4",
            "local",
            {0: 9},
            None,
            {"stack": "", "anon": "9", "dirty": "9", "active": "0", "kernelpagesize_kB": "4"},
        ),
        (
            "7f0500000000 bind=static:0 huge anon=2 dirty=2 N0=2 kernelpagesize_kB=2048",
            "bind=static:0",
            {0: 2},
            None,
            {"huge": "", "anon": "2", "dirty": "2", "kernelpagesize_kB": "2048"},
        ),
        ("7ffd5b9fb000 prefer:1", "prefer:1", {}, None, {}),
        (
            "7f0200000000 interleave=relative|balancing:0,1 anon=8 N0=4 N1=4 kernelpagesize_kB=4",
            "interleave=relative|balancing:0-1",
            {0: 4, 1: 4},
            None,
            {"anon": "8", "kernelpagesize_kB": "4"},
        ),
    ],
)
def test_parse_numa_maps_line(
    line: str,
    policy: str,
    pages: dict[int, int],
    file: str | None,
    attributes: dict[str, str],
) -> None:
    region = parse_numa_maps_line(line)
    assert str(region.policy) == policy
    assert dict(region.pages_by_node) == pages
    assert region.file == file
    assert dict(region.attributes) == attributes
    assert region.address == int(line.split()[0], 16)


def test_prefer_many_is_not_read_as_prefer() -> None:
    region = parse_numa_maps_line("7f01 prefer (many):1 anon=1 N1=1")
    assert region.policy.mode == "prefer (many)"
    assert "(many):1" not in region.attributes


@pytest.mark.parametrize("line", ["zz bind:0 N0=1", "7f01 sometimes:0 N0=1", "7f01"])
def test_parse_numa_maps_line_rejects(line: str) -> None:
    with pytest.raises(ValueError):
        parse_numa_maps_line(line)


def test_parse_numa_maps_skips_lines_it_does_not_know() -> None:
    text = "7f00 default N0=1\ngarbage\n\n7f01 bind:1 N1=5\n"
    assert [str(r.policy) for r in parse_numa_maps(text)] == ["default", "bind:1"]


def test_dominant_policy_weighs_pages_then_regions() -> None:
    regions = parse_numa_maps("1 default N0=1\n2 default N0=1\n3 bind:1 N1=100\n")
    assert str(dominant_policy(regions)) == "bind:1"
    empty = parse_numa_maps("1 default\n2 bind:1\n3 bind:1\n")
    assert str(dominant_policy(empty)) == "bind:1"
    assert str(dominant_policy(())) == "default"


def test_read_process_policy_bound_process() -> None:
    policy = read_process_policy(4242, proc=PROC)
    assert policy is not None
    assert policy.comm == "stress-ng"
    assert str(policy.dominant) == "bind:1"
    assert policy.regions_by_policy == {"bind:1": 7}
    assert policy.bytes_by_policy["bind:1"] == (120 + 12 + 40 + 65536 + 160 + 9) * 4096
    assert policy.mems_allowed == (0, 1)
    assert policy.effective_nodes() == (1,)
    assert policy.exe == "/usr/bin/stress-ng"
    assert policy.uid == 1000
    assert policy.cgroup == "/system.slice/batch.service"
    assert policy.cpuset == "/"


def test_read_process_policy_mixed_and_cpuset() -> None:
    mixed = read_process_policy(4444, proc=PROC)
    assert mixed is not None
    assert str(mixed.dominant) == "weighted interleave:0-1"
    assert len(mixed.regions_by_policy) == 7
    db = read_process_policy(4343, proc=PROC)
    assert db is not None
    assert db.dominant.is_default
    assert db.mems_allowed == (1,)
    assert db.cpuset == "/db"
    assert db.cgroup == "/system.slice/postgresql.service"
    assert db.uid == 0


def test_kernel_thread_has_no_exe() -> None:
    kthread = read_process_policy(2, proc=PROC)
    assert kthread is not None
    assert kthread.exe is None
    assert str(kthread.dominant) == "default"


def test_vanished_process_is_skipped() -> None:
    assert read_process_policy(999999, proc=PROC) is None
    assert sorted(read_process_policies([4242, 999999, 2], PROC)) == [2, 4242]
    assert {2, 4242, 4343, 4444} <= set(read_process_policies(None, PROC))


@pytest.mark.parametrize("code", [errno.ENOENT, errno.ESRCH, errno.EACCES])
def test_process_gone_mid_read(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    real = Path.read_text

    def flaky(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "numa_maps":
            raise OSError(code, "gone")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", flaky)
    assert read_process_policy(4242, proc=PROC) is None
    assert read_process_policies([4242, 4343], PROC) == {}


def test_other_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Path, *args: object, **kwargs: object) -> str:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(Path, "read_text", broken)
    with pytest.raises(OSError):
        read_process_policy(4242, proc=PROC)


def test_live_self_is_readable() -> None:
    import os

    if not Path("/proc/self/numa_maps").exists():
        pytest.skip("no numa_maps on this kernel")
    me = read_process_policy(os.getpid())
    assert me is not None
    assert me.regions_by_policy
    assert mempolicy.list_pids()
