"""`sudo scripts/install`, then the unit's own ExecStart serves /metrics from the kernel.

The install runs twice (it must be safe to repeat). systemd is not PID 1 on these
machines, so the ExecStart line is run as root the way the unit confines it where
that can be done without systemd: inside its CapabilityBoundingSet= with
NoNewPrivileges= (util-linux setpriv), in a mount namespace with / read-only except
the CacheDirectory=, /sys and /proc/sys read-only (ReadOnlyPaths=), /home and /root
empty (ProtectHome=), a private /tmp (PrivateTmp=) and an empty /etc/numascope, as on
a fresh host with no config file.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import numascope
from tests.conftest import require, require_root
from tests.promtools import free_port
from tests.service_unit import ROOT, UNIT, bounding_set, exec_start, settings

pytestmark = pytest.mark.kernel

INSTALLED_UNIT = Path("/etc/systemd/system/numascope-exporter.service")
COMMAND = Path("/usr/local/bin/numascope")

# The unit's file-system settings, as mounts in a namespace of the test's own.
SANDBOX = """
set -e
install -d -m 0755 /var/cache/{cache} /etc/numascope
mount --bind /var/cache/{cache} /var/cache/{cache}
mount -o remount,bind,ro /
for m in $(awk '$5 ~ "^/sys" {{print $5}}' /proc/self/mountinfo); do
  mount -o remount,bind,ro "$m"
done
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys
mount -t tmpfs tmpfs /tmp
for d in /home /root /etc/numascope; do mount -t tmpfs -o ro tmpfs "$d"; done
exec setpriv --bounding-set {caps} --no-new-privs -- "$@"
"""


def run_install() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "install")],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.fixture(scope="module")
def installed() -> Iterator[None]:
    require_root()
    for tool in ("systemd-analyze", "systemd-sysusers", "setpriv", "unshare", "apt-get"):
        require(shutil.which(tool) is not None, f"needs {tool}")
    for attempt in ("first", "second"):
        done = run_install()
        assert done.returncode == 0, f"{attempt} install failed:\n{done.stderr[-4000:]}"
    yield


def test_install_puts_the_command_man_page_and_completion_in_place(installed: None) -> None:
    shown = subprocess.run([str(COMMAND), "--version"], capture_output=True, text=True)
    assert shown.stdout.strip() == f"numascope {numascope.__version__}"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "MANPAGER": "cat", "MANWIDTH": "80"}
    page = subprocess.run(["man", "numascope"], capture_output=True, text=True, env=env)
    assert page.returncode == 0, page.stderr
    assert "COMMAND 'numascope export'" in page.stdout
    loaded = subprocess.run(
        [
            "bash",
            "--norc",
            "-c",
            "source /usr/share/bash-completion/bash_completion; "
            "__load_completion numascope; complete -p numascope",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "_shtab_numascope numascope" in loaded.stdout, loaded.stderr
    assert INSTALLED_UNIT.read_text() == UNIT.read_text()


def test_installed_packages_are_the_locked_versions(installed: None) -> None:
    frozen = subprocess.run(
        ["/opt/numascope/bin/python", "-m", "pip", "list", "--local", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    installed_versions = dict(line.lower().replace("_", "-").split("==") for line in frozen)
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            locked[name] = version
    runtime = {"numpy", "pydantic", "prometheus-client", "pyyaml", "textual", "bcrypt"}
    assert runtime <= installed_versions.keys()
    wrong = {
        name: (version, locked[name])
        for name, version in installed_versions.items()
        if name in locked and version != locked[name]
    }
    assert wrong == {}, "installed (left) differs from constraints.txt (right)"
    assert installed_versions["numascope"] == numascope.__version__


def test_installed_unit_passes_systemd_analyze_verify(installed: None) -> None:
    # With the command and man page installed, verify checks both and must be silent.
    done = subprocess.run(
        ["systemd-analyze", "verify", str(INSTALLED_UNIT)], capture_output=True, text=True
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def scrape_until(url: str, needle: str, proc: subprocess.Popen[bytes], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            text = ""
        if needle in text:
            return text
        time.sleep(0.5)
    pytest.fail(f"{url} never showed {needle} (exit status {proc.poll()})")


def test_exec_start_as_the_unit_confines_it_serves_metrics(installed: None, tmp_path: Path) -> None:
    argv = exec_start()
    # The unit's line, with only the port changed, so that it never meets another exporter.
    at = argv.index("--web.listen-address") + 1
    address = f"127.0.0.1:{free_port()}"
    argv[at] = address
    (cache,) = settings()["CacheDirectory"]
    caps = ",".join(["-all", *(f"+{c.removeprefix('CAP_').lower()}" for c in bounding_set())])
    script = SANDBOX.format(cache=cache, caps=caps)
    log_path = tmp_path / "export.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    workload = subprocess.Popen(
        ["sh", "-c", "while :; do dd if=/dev/zero of=/dev/null bs=16M count=4; done"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        text = scrape_until(
            f"http://{address}/metrics",
            'numascope_workload_locality_pages_total{kind="process",locality="local"',
            proc,
            seconds=180,
        )
        assert 'numascope_source_info{source="bpf"} 1.0' in text
        assert 'workload="dd"' in text
        # The unit names the sysusers.d user: the exporter runs on as it, not as root.
        assert uid_of(proc.pid) == int(
            subprocess.run(["id", "-u", "numascope"], capture_output=True, text=True).stdout
        )
    finally:
        os.killpg(workload.pid, 15)
        workload.wait()
        if proc.poll() is None:
            proc.terminate()
        status = proc.wait(timeout=60)
    logged = log_path.read_text()
    assert status == 0, logged
    assert "running on as numascope" in logged, logged
    assert "Traceback" not in logged, logged
    print(shlex.join(argv))
