"""Real-kernel faults: every exit detaches, a dropped-privilege exporter keeps counting,
a program gone from under numascope is reported.

A run's programs are found from its descriptors (`prog_id` in /proc/PID/fdinfo);
after it ends, none of those ids may be left in `bpftool prog show -j`, however
it ended.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from numascope.collectors.live import open_live_source
from tests.conftest import require_root
from tests.promtools import ROOT, free_port

pytestmark = pytest.mark.kernel
NUMASCOPE = str(ROOT / ".venv" / "bin" / "numascope")


def programs() -> list[dict[str, object]]:
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out or "[]"))


def programs_of(pid: int) -> set[int]:
    """Ids of the BPF programs that process `pid` holds (from its fds' fdinfo)."""
    ids = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fdinfo"):
            try:
                info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
            except OSError:
                continue
            m = re.search(r"^prog_id:\s+(\d+)", info, re.M)
            if m:
                ids.add(int(m.group(1)))
    except OSError:
        pass
    return ids


def at_least_two(ids: set[int]) -> set[int] | None:
    """The ids once page_alloc's and reclaim's programs are in (the page
    translation's calibration program is loaded alone before them)."""
    return ids if len(ids) >= 2 else None


def pinned() -> set[str]:
    return {str(p) for p in Path("/sys/fs/bpf").rglob("*")}


def wait_for(what: str, check: object, seconds: float = 180.0) -> object:
    """Poll `check` until it returns something true (a bounded loop, not a timing claim)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()  # type: ignore[operator]
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


COMMANDS = {
    "snapshot": ["snapshot", "--source", "bpf", "--probes", "page_alloc,reclaim"],
    "export": ["export", "--source", "bpf", "--probes", "page_alloc,reclaim"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["TERM", "INT", "KILL"]
)
def test_no_program_outlives_numascope(command: str, sig: signal.Signals, tmp_path: Path) -> None:
    require_root()
    before_pins = pinned()
    argv = [NUMASCOPE, *COMMANDS[command]]
    if command == "export":
        argv += ["--web.listen-address", f"127.0.0.1:{free_port()}"]
    log = (tmp_path / "log").open("w")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
    try:
        ids = wait_for("programs attached", lambda: at_least_two(programs_of(proc.pid)))
        assert isinstance(ids, set)
        time.sleep(1.5)  # at least one poll, so the process is in its steady state
        proc.send_signal(sig)
        status = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    if sig != signal.SIGKILL:
        assert status == 0, (tmp_path / "log").read_text()
    # The kernel frees a program whose last descriptor closed after a grace
    # period (SIGKILL leaves that to the process's exit): allow it seconds.
    deadline = time.monotonic() + 10
    while (left := ids & {int(p["id"]) for p in programs()}) and time.monotonic() < deadline:  # type: ignore[call-overload]
        time.sleep(0.1)
    assert not left, f"programs {sorted(left)} still loaded 10 s after {sig.name}"
    assert pinned() == before_pins, "numascope must not pin anything under /sys/fs/bpf"


def metric_sum(text: str, name: str) -> float:
    return sum(float(m) for m in re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M))


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
        return str(r.read().decode())


def touch_memory(mib: int) -> None:
    subprocess.run(
        ["python3", "-c", f"b = bytearray({mib} << 20); b[::4096] = b'x' * len(b[::4096])"],
        check=True,
    )


def test_exporter_runs_on_as_nobody_and_keeps_counting(tmp_path: Path) -> None:
    require_root()
    nobody = pwd.getpwnam("nobody").pw_uid
    address = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "log").open("w")
    proc = subprocess.Popen(
        [NUMASCOPE, *COMMANDS["export"], "--interval", "0.5", "--web.listen-address", address],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_for("the first scrape", lambda: _try_scrape(address))
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
        assert uids is not None and {int(u) for u in uids.groups()} == {nobody}
        cap_eff = int(re.search(r"^CapEff:\s+(\w+)", status, re.M).group(1), 16)  # type: ignore[union-attr]
        assert cap_eff & (1 << 39) == 0 and cap_eff & (1 << 21) == 0, "CAP_BPF, CAP_SYS_ADMIN gone"
        before = metric_sum(scrape(address), "numascope_node_pages_total")
        touch_memory(64)  # 16,384 pages
        after = wait_for(
            "fresh page counts",
            lambda: (
                (v := metric_sum(scrape(address), "numascope_node_pages_total")) >= before + 16384
                and v
            ),
        )
        assert isinstance(after, float)
        text = scrape(address)
        assert metric_sum(text, "numascope_poll_errors_total") == 0
        assert metric_sum(text, "numascope_probe_failures_total") == 0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    assert "running on as nobody" in (tmp_path / "log").read_text()


def _try_scrape(address: str) -> str | None:
    try:
        return scrape(address)
    except OSError:
        return None


def test_a_program_gone_mid_run_is_reported_and_polling_goes_on() -> None:
    require_root()
    source = open_live_source(probes=("page_alloc", "reclaim"))
    try:
        first = source.poll().health
        assert first.probe_failures == 0
        reclaim = next(f for f in source.families if f.name == "reclaim")
        fn, fd = next(iter(reclaim.program_fds().items()))
        # Put something else behind the program's descriptor, as if it had been closed.
        with open("/dev/null", "rb") as null:
            os.dup2(null.fileno(), fd)
        health = source.poll().health
        assert health.probe_failures == 1
        assert "detached mid-run" in health.probes_missing[f"reclaim.{fn}"]
        # The family is reported broken, and nothing else is.
        assert not health.families["reclaim"].ok and health.families["reclaim"].failures == 1
        assert health.families["page_alloc"].ok and health.families["page_alloc"].failures == 0
        assert f"reclaim.{fn}" not in health.programs and health.programs
        touch_memory(16)
        assert sum(n.delta.pages for n in source.poll().nodes) >= 4096, "page counts go on"
    finally:
        source.close()
