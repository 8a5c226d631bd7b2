"""The container image, built here without any registry, attributes a host process's pages.

deploy/container/build-image debootstraps the base once (then podman keeps it) and
builds the image from this checkout. The container runs as the DaemonSet runs it:
the host's pid namespace, the host's tracefs, a read-only root, the runtime's
default seccomp profile and exactly the capabilities deploy/kubernetes/daemonset.yaml
grants (not --privileged), listening on 0.0.0.0:9477 inside. A host process with
a name of its own touches 128 MiB; its series in the container's /metrics must
carry its host pid and at least those pages.

Time, build included: 13 to 27 s here once the image exists (49 s when Debian's
layer must be remade); the first build on a machine adds debootstrap, a few minutes
(6 min 14 s in all on a loaded machine).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import require, require_root
from tests.promtools import free_port

pytestmark = [pytest.mark.kernel, pytest.mark.container]

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "deploy" / "container" / "build-image"
DAEMONSET = ROOT / "deploy" / "kubernetes" / "daemonset.yaml"
TAG = "localhost/numascope:suite"
PODMAN = ("podman", "--runtime", "runc")
# crun fails on hosts with hybrid cgroups, and podman's default ulimits are above
# what such hosts let a container set (FIELD_NOTES: "Containers run here").
LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
TOUCHED = 128 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")

# A host process with a name of its own: maps and touches TOUCHED bytes, says so,
# and holds them until its stdin closes.
# Named first, then told to touch: an exported series counts from the poll that
# named it (docs/prometheus-counters.md), so the pages come after that.
TOUCHER = f"""
import ctypes, mmap, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
m = mmap.mmap(-1, {TOUCHED})
print("named", flush=True)
sys.stdin.readline()
for offset in range(0, {TOUCHED}, {PAGE}):
    m[offset] = 1
print("touched", flush=True)
sys.stdin.read()
"""


def daemonset_capabilities() -> list[str]:
    pod = yaml.safe_load(DAEMONSET.read_text())["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    caps: list[str] = container["securityContext"]["capabilities"]["add"]
    return caps


@pytest.fixture(scope="module")
def image() -> str:
    require_root()
    for tool in ("podman", "runc", "debootstrap"):
        require(shutil.which(tool) is not None, f"{tool} is not installed (scripts/setup --test)")
    require(os.path.ismount("/sys/kernel/tracing"), "tracefs is not mounted at /sys/kernel/tracing")
    built = subprocess.run([str(BUILD), TAG], capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stderr[-4000:]
    print(built.stderr.strip().splitlines()[-1])  # the image's size
    return TAG


@dataclass(frozen=True)
class Container:
    name: str
    address: str

    def running(self) -> bool:
        state = subprocess.run(
            [*PODMAN, "inspect", "-f", "{{.State.Running}}", self.name],
            capture_output=True,
            text=True,
        )
        return state.stdout.strip() == "true"

    def logs(self) -> str:
        logs = subprocess.run([*PODMAN, "logs", self.name], capture_output=True, text=True)
        return logs.stdout + logs.stderr


@contextmanager
def started(image: str, caps: list[str]) -> Iterator[Container]:
    """The image run as the DaemonSet runs it, with `caps` as its only capabilities."""
    port = free_port()
    name = f"numascope-suite-{os.getpid()}"
    run = [*PODMAN, "run", "-d", "--name", name, *LIMITS, "--pid=host"]
    run += ["--read-only", "--tmpfs", "/tmp", "--cap-drop=all", f"--cap-add={','.join(caps)}"]
    run += ["-v", "/sys/kernel/tracing:/sys/kernel/tracing:ro", "-p", f"127.0.0.1:{port}:9477"]
    started = subprocess.run([*run, image], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        yield Container(name, f"127.0.0.1:{port}")
    finally:
        subprocess.run([*PODMAN, "rm", "-f", "-t", "5", name], capture_output=True)


@pytest.fixture
def container(image: str) -> Iterator[Container]:
    with started(image, daemonset_capabilities()) as running:
        yield running


def scrape(address: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
            return str(reply.read().decode())
    except OSError:
        return None


def workload_pages(metrics: str, name: str, pid: int) -> float:
    """Sum of numascope_workload_locality_pages_total over one workload's series."""
    total = 0.0
    pattern = re.compile(r"^numascope_workload_locality_pages_total\{([^}]*)\} (\S+)$")
    for line in metrics.splitlines():
        match = pattern.match(line)
        if match and f'workload="{name}"' in match[1] and f'pid="{pid}"' in match[1]:
            total += float(match[2])
    return total


def test_container_attributes_a_host_process_pages(container: Container) -> None:
    deadline = time.monotonic() + 120  # the probes compile inside the container first
    while scrape(container.address) is None:
        assert container.running(), f"the container stopped:\n{container.logs()}"
        assert time.monotonic() < deadline, f"no /metrics after 120 s:\n{container.logs()}"
        time.sleep(0.5)
    name = f"nsimg{os.getpid() % 100000}"
    toucher = subprocess.Popen(
        [sys.executable, "-c", TOUCHER, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert toucher.stdout is not None and toucher.stdout.readline() == "named\n"
        assert toucher.stdin is not None
        deadline = time.monotonic() + 30
        while f'workload="{name}"' not in (scrape(container.address) or ""):
            assert time.monotonic() < deadline, f"{name} never got a series of its own"
            time.sleep(0.5)
        toucher.stdin.write("go\n")
        toucher.stdin.flush()
        assert toucher.stdout.readline() == "touched\n"
        want = TOUCHED // PAGE
        pages = 0.0
        deadline = time.monotonic() + 30
        while pages < want and time.monotonic() < deadline:
            time.sleep(1)
            pages = workload_pages(scrape(container.address) or "", name, toucher.pid)
        # The interpreter's own start-up adds a few thousand pages; a count far
        # above what was touched would be someone else's pages.
        assert want <= pages <= want * 1.5, f"{name} (pid {toucher.pid}): {pages} pages"
    finally:
        toucher.communicate(timeout=10)


def test_without_sys_admin_the_container_says_why_in_one_line(image: str) -> None:
    """Runtimes' default seccomp profiles refuse bpf() without CAP_SYS_ADMIN, whatever
    else is granted; bcc would call that a compile failure."""
    caps = [c for c in daemonset_capabilities() if c != "SYS_ADMIN"]
    with started(image, caps) as container:
        deadline = time.monotonic() + 60
        while container.running():
            assert time.monotonic() < deadline, container.logs()
            time.sleep(0.5)
        logs = container.logs()
    assert "refused the bpf() system call (EPERM)" in logs, logs
    assert "Traceback" not in logs, logs
