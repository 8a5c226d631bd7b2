"""`numascope capture` on this host's kernel, run as the real command in a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from numascope.capture.file import read_capture
from numascope.collectors.probe_families import DEFAULT_FAMILIES
from tests.conftest import require_root

pytestmark = pytest.mark.kernel

# A safety net so a broken capture cannot hang the run; never a timing check.
HANG = 300
PAGES_64_MIB = (64 << 20) // 4096


def start_capture(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "numascope", "capture", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen[str], marker: str) -> list[str]:
    """Read stderr until a line holds `marker`; fail with what was said if it never does."""
    assert proc.stderr is not None
    seen = []
    while True:
        line = proc.stderr.readline()
        if not line:
            proc.wait(HANG)
            pytest.fail(f"capture ended (exit {proc.returncode}) before {marker!r}: {seen}")
        seen.append(line)
        if marker in line:
            return seen


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=HANG)
    return proc.returncode, err


@contextlib.contextmanager
def running(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_capture_holds_a_running_workloads_pages_and_facts(tmp_path: Path) -> None:
    require_root()
    out = tmp_path / "live.capture.gz"
    proc = start_capture("--duration", "3s", "--interval", "0.5", "-o", str(out))
    wait_for_line(proc, "recording for")
    # dd allocates its 64 MiB buffer once, then copies forever: alive for the facts.
    dd = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=100000000"]
    with running(dd) as workload:
        status, err = finish(proc)
    assert status == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["live.capture.gz"]
    capture = read_capture(out)
    assert capture.trailer.reason == "duration"
    assert len(capture.snapshots) >= 4
    # The default families, as every command attaches them: the opt-in ones (slab,
    # migrate_nodes) would cost the host several points while it is being recorded.
    assert set(capture.snapshots[-1].health.families) == set(DEFAULT_FAMILIES)
    row = capture.snapshots[-1].process(f"pid:{workload.pid}")
    assert row is not None and row.name == "dd"
    assert row.total.pages >= PAGES_64_MIB
    # The snapshots carry residence from the same numa_maps reads: dd's 64 MiB buffer.
    resident = [
        r
        for s in capture.snapshots
        if s.residence is not None
        for r in s.residence.processes
        if r.pid == workload.pid
    ]
    assert resident and resident[-1].resident.total >= PAGES_64_MIB * 4096, resident
    h = capture.header
    assert h.topology is not None and h.topology.node_ids
    assert "vm.numa_stat" in h.sysctls and "kernel.numa_balancing" in h.sysctls
    node = h.topology.node_ids[0]
    assert h.numastat_after[node]["local_node"] > h.numastat_before[node]["local_node"]
    assert h.vmstat_after["pgalloc_normal"] >= h.vmstat_before["pgalloc_normal"]
    assert h.kernel_cmdline and h.kernel == os.uname().release
    assert any(irq.affinity for irq in h.irqs)
    facts = {f.pid: f for f in h.workloads}
    assert workload.pid in facts
    dd_facts = facts[workload.pid]
    assert dd_facts.cmdline == tuple(dd)
    assert dd_facts.cgroup is not None and dd_facts.dominant_policy == "default"
    assert sum(dd_facts.resident_bytes_by_node.values()) >= PAGES_64_MIB * 4096


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_way_still_writes_a_valid_file(tmp_path: Path, sig: signal.Signals) -> None:
    require_root()
    out = tmp_path / "stopped.capture.gz"
    # The SIGTERM run also proves --redact end to end.
    redact = ("--redact",) if sig == signal.SIGTERM else ()
    proc = start_capture("--duration", "1h", "--interval", "0.5", "-o", str(out), *redact)
    wait_for_line(proc, "2 snapshots")
    assert not out.exists()  # nothing under the final name while recording
    proc.send_signal(sig)
    status, err = finish(proc)
    assert status == 0, err
    assert f"ended by {sig.name}" in err
    capture = read_capture(out)
    assert capture.trailer.reason == sig.name
    assert len(capture.snapshots) >= 3  # two full intervals, then the interrupted one
    assert sorted(os.listdir(tmp_path)) == ["stopped.capture.gz"]
    if redact:
        assert capture.header.redacted
        hosts = {capture.header.host} | {s.host.hostname for s in capture.snapshots}
        assert socket.gethostname() not in hosts and all(h.startswith("host-") for h in hosts)
        names = {w.name for s in capture.snapshots for w in s.processes if w.kind == "process"}
        assert names and all(n.startswith("comm-") for n in names), names
        # A process caught as it exits has no command line left (a zombie's is
        # empty): every argument there is must be a token, and there must be some.
        arguments = [a for f in capture.header.workloads for a in f.cmdline]
        assert arguments and all(a.startswith("cmd-") for a in arguments), arguments


@contextlib.contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def assert_one_line_error(status: int, err: str, reason: str) -> None:
    assert status == 2, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert lines[-1].startswith("numascope: cannot write"), err
    assert reason in lines[-1], err


def test_read_only_place_is_a_clear_error_before_the_probes_load(tmp_path: Path) -> None:
    require_root()  # root writes anywhere permissions allow; a read-only mount stops even root
    with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        status, err = finish(start_capture("--duration", "1s", "-o", str(ro / "c.gz")))
        assert_one_line_error(status, err, "Read-only file system")
        assert "compiling" not in err and "recording" not in err
        assert os.listdir(ro) == []


def test_full_disk_is_a_clear_error_and_leaves_no_partial_file(tmp_path: Path) -> None:
    require_root()
    with tmpfs(tmp_path / "full", "size=64k") as full:
        filler = full / "filler"
        with filler.open("wb", buffering=0) as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
        status, err = finish(
            start_capture("--duration", "1s", "--interval", "0.5", "-o", str(full / "c.gz"))
        )
        assert_one_line_error(status, err, "No space left on device")
        assert os.listdir(full) == ["filler"]
