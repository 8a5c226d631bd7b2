"""Boot one multi-node guest with virtme-ng, run guest tests in it, read back results.

The guest shares the host's root file system read-only (so it runs this very
checkout, venv and bcc), plus one writable folder, `workdir`, where it leaves:
  booted          written first thing: the kernel came up and ran our command
  progress.jsonl  one line per test start and per test phase report (guest conftest)
  pytest.out/err  the guest pytest's output (numascope's own stderr lands there)
  exitcode        the guest pytest's exit status, written last
and the host keeps `console-<accel>.log`: the guest console (vng --verbose).

KVM is tried first when /dev/kvm is usable, with a short boot limit, because on
some hosts (nested virtualisation) qemu asserts or hangs there; then software
emulation (TCG). Every wait is bounded; a guest that never boots or never
finishes is killed and reported with the tails of its console and stderr.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.vm.host_requests import QMP_SOCKET, serve_requests
from tests.vm.topologies import HELPERS_ENV, RESULTS_ENV, TOPOLOGY_ENV, GuestTopology

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
KERNEL_ENV = "NUMASCOPE_VM_KERNEL"  # a vmlinuz to boot instead of the newest Debian one
ACCEL_ENV = "NUMASCOPE_VM_ACCEL"  # auto (default), kvm or tcg
TIMEOUT_ENV = "NUMASCOPE_VM_TIMEOUT"  # seconds per guest, boot included
WORKDIR_ENV = "NUMASCOPE_VM_WORKDIR"  # where each topology's files go
DEFAULT_WORKDIR = Path("/var/tmp/numascope-vm")

KVM_BOOT_SECONDS = 60.0
TCG_BOOT_SECONDS = 240.0
# two_node, the longest, took 426 to 476 s in CI runs here: room for a slower
# host, while a hung guest still fails the run.
DEFAULT_GUEST_SECONDS = 900.0
TAIL_LINES = 40
# C workloads the guest scenarios run, compiled on the host into `workdir`/bin:
# the guest's root is read-only, and compiling under software emulation is slow.
HELPERS = (ROOT / "tests" / "kernel" / "thp_toucher.c",)


@dataclass(frozen=True)
class GuestKernel:
    image: Path
    release: str


def find_guest_kernel() -> GuestKernel | None:
    """A bootable kernel whose headers are installed (bcc compiles against them in the guest)."""
    chosen = os.environ.get(KERNEL_ENV)
    images = [Path(chosen)] if chosen else sorted(Path("/boot").glob("vmlinuz-*"), reverse=True)
    for image in images:
        release = image.name.removeprefix("vmlinuz-")
        if image.is_file() and Path(f"/lib/modules/{release}/build/include").is_dir():
            return GuestKernel(image, release)
    return None


def fresh_workdir(topology: str) -> Path:
    """An empty folder for one guest's files, kept after the run for a look.

    Not pytest's tmp_path: pytest keeps only the last three sessions' folders,
    so any other pytest run on the host would delete a guest's files. Named by
    this process, because several people may run the guests on one host at once;
    folders of processes that have ended are removed.
    """
    base = Path(os.environ.get(WORKDIR_ENV, DEFAULT_WORKDIR))
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob(f"{topology}-*"):
        pid = old.name.rsplit("-", 1)[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    workdir = base / f"{topology}-{os.getpid()}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    return workdir


def missing_prerequisites() -> list[str]:
    """What the host lacks to boot a guest; `scripts/setup --test` installs all of it."""
    missing = []
    if not (VENV_BIN / "vng").is_file():
        missing.append(f"{VENV_BIN}/vng (pip install virtme-ng)")
    if shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86_64 (apt-get install qemu-system-x86)")
    if shutil.which("busybox") is None and not Path("/bin/busybox").exists():
        missing.append("busybox (apt-get install busybox-static)")
    if find_guest_kernel() is None:
        missing.append(
            "a /boot/vmlinuz-* with headers in /lib/modules/<release>/build "
            "(apt-get install linux-image-amd64 linux-headers-amd64)"
        )
    return missing


@dataclass
class GuestResult:
    """One guest test function's outcome (its parametrized cases folded together)."""

    nodeid: str
    outcome: str = "passed"  # passed, failed, error (setup/teardown), skipped
    message: str = ""
    stderr: str = ""
    seconds: float = 0.0
    properties: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class GuestRun:
    topology: str
    workdir: Path
    accel: str = ""
    notes: list[str] = field(default_factory=list)
    boot_seconds: float | None = None
    total_seconds: float = 0.0
    exit_code: int | None = None
    error: str | None = None
    results: dict[str, GuestResult] = field(default_factory=dict)
    running: str | None = None  # a test that started and never reported
    phases: dict[str, float] = field(default_factory=dict)  # guest clock: start-up, tests

    def summary(self) -> str:
        boot = f"{self.boot_seconds:.0f} s" if self.boot_seconds is not None else "never"
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no results"
        phases = "".join(f", {k} {v:.0f} s" for k, v in self.phases.items() if k[0] != "_")
        return (
            f"{self.topology}: {self.accel or 'no accel'}; boot {boot}{phases}, "
            f"total {self.total_seconds:.0f} s; {outcomes} (files in {self.workdir})"
        )

    def tails(self) -> str:
        """The end of the guest console and of the guest tests' stderr, for a failure."""
        parts = []
        for name in (f"console-{self.accel}.log", "pytest.err", "pytest.out"):
            text = tail(self.workdir / name)
            if text:
                parts.append(f"--- last lines of {self.workdir / name} ---\n{text}")
        return "\n".join(parts)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        raw = path.read_text(errors="replace")
    except OSError:
        return ""
    # The console is raw serial output: carriage returns and padding, colour codes.
    clean = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", ln).strip() for ln in raw.splitlines()]
    return "\n".join([ln for ln in clean if ln][-lines:])


def build_helpers(workdir: Path) -> list[str]:
    """Compile HELPERS into `workdir`/bin; returns a note per helper that failed (its
    scenarios then skip in the guest, saying it is missing)."""
    out = workdir / "bin"
    out.mkdir(exist_ok=True)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return ["no C compiler on the host: the guest's C workloads were not built"]
    notes = []
    for source in HELPERS:
        done = subprocess.run(
            [cc, "-O2", "-pthread", "-o", str(out / source.stem), str(source)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            notes.append(f"compiling {source.name} failed: {done.stderr.strip()[-300:]}")
    return notes


GUEST_NUMPY_DISABLED = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"


def guest_script(topology: GuestTopology, nodeids: Sequence[str], workdir: Path) -> str:
    """The shell script the guest runs. It goes in a file in `workdir`, because vng
    passes --exec on the kernel command line, which holds 2048 bytes at most (a
    longer one panics the kernel at boot)."""
    rw = shlex.quote(str(workdir))
    env = {
        TOPOLOGY_ENV: topology.name,
        RESULTS_ENV: str(workdir),
        HELPERS_ENV: str(workdir / "bin"),
        # The root file system is read-only in the guest: no bytecode, no pytest cache.
        "PYTHONDONTWRITEBYTECODE": "1",
        # This checkout's numascope, even when the venv's editable install points
        # at another one.
        "PYTHONPATH": str(ROOT / "src"),
        "CI": os.environ.get("CI", ""),
        # numpy's AVX2 (x86-64-v3) loops gave wrong, varying sums in these guests
        # under qemu 7.2's software emulation (numascope's node matrix lost most
        # of a cell in one poll and not the next, while the same arrays summed
        # right on the host and in the guest with these loops off): the guest
        # runs numpy's baseline loops, so what is tested is numascope, not the
        # emulator's vector unit.
        "NPY_DISABLE_CPU_FEATURES": GUEST_NUMPY_DISABLED,
    }
    pytest_args = [
        str(VENV_BIN / "python"),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-m",
        "guest",
        "-rA",
        *nodeids,
    ]
    return "\n".join(
        [
            f"date +%s.%N > {rw}/booted",
            f"cd {shlex.quote(str(ROOT))} || exit 1",
            "env "
            + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            + " "
            + " ".join(shlex.quote(a) for a in pytest_args)
            + f" > {rw}/pytest.out 2> {rw}/pytest.err",
            f"echo $? > {rw}/exitcode",
            "",
        ]
    )


def vng_command(
    topology: GuestTopology, kernel: GuestKernel, accel: str, workdir: Path
) -> list[str]:
    args = [str(VENV_BIN / "vng"), "--verbose", "--run", str(kernel.image)]
    if accel == "tcg":
        # One host thread runs every vCPU. Multi-threaded TCG (qemu 7.2) hung the
        # guest when the kernel patched code another vCPU was running: BPF
        # statistics going on or off flip a static branch inside every BPF
        # tracepoint run, and with the page-allocation probe attached both vCPUs
        # stayed at that branch for good (soft lockups within seconds at 20 flips a
        # second; single-threaded, 90 s of that and no lockup).
        args += ["--disable-kvm", "--qemu-opts=-accel tcg,thread=single"]
    args += topology.vng_args()
    if topology.max_memory:  # memory can be plugged in: the host does it through QMP
        args.append(f"--qemu-opts=-qmp unix:{workdir / QMP_SOCKET},server=on,wait=off")
    args += ["--rwdir", str(workdir), "--exec", f"sh {shlex.quote(str(workdir / 'guest.sh'))}"]
    return args


def accelerators() -> list[str]:
    """Boot attempts in order. Software emulation gets a second try: a boot that
    fails there (seen: an early panic) is rare, and one retry is cheap beside a
    red run."""
    wanted = os.environ.get(ACCEL_ENV, "auto")
    if wanted == "kvm":
        return ["kvm"]
    tcg = ["tcg", "tcg"]
    if wanted == "tcg" or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return tcg
    return ["kvm", *tcg]


def run_guest(
    topology: GuestTopology,
    nodeids: Sequence[str],
    workdir: Path,
    timeout: float | None = None,
) -> GuestRun:
    """Boot `topology` once, run the guest tests `nodeids` in it, and collect results."""
    kernel = find_guest_kernel()
    if kernel is None:
        raise RuntimeError("no guest kernel; see missing_prerequisites()")
    limit = timeout or float(os.environ.get(TIMEOUT_ENV, DEFAULT_GUEST_SECONDS))
    run = GuestRun(topology.name, workdir)
    started = time.monotonic()
    (workdir / "guest.sh").write_text(guest_script(topology, nodeids, workdir))
    run.notes += build_helpers(workdir)
    accels = accelerators()
    for attempt, accel in enumerate(accels):
        for leftover in ("booted", "progress.jsonl", "exitcode", "pytest.out", "pytest.err"):
            (workdir / leftover).unlink(missing_ok=True)
        for exchanged in (*workdir.glob("request-*"), *workdir.glob("reply-*")):
            exchanged.unlink()
        run.accel = accel
        boot_limit = KVM_BOOT_SECONDS if accel == "kvm" else TCG_BOOT_SECONDS
        argv = vng_command(topology, kernel, accel, workdir)
        why = _launch(argv, workdir, accel, boot_limit, limit, run.notes)
        booted = (workdir / "booted").exists()
        if booted:
            run.boot_seconds = _boot_seconds(workdir)
        if booted or attempt == len(accels) - 1:
            run.error = why or None
            break
        console = workdir / f"console-{accel}.log"
        run.notes.append(
            f"{accel} did not boot the guest ({why}: {_last_line(console)}); "
            f"trying {accels[attempt + 1]}"
        )
        if console.exists():
            console.rename(workdir / f"console-{accel}-failed{attempt}.log")
    run.total_seconds = time.monotonic() - started
    _read_results(run)
    return run


def _launch(
    argv: list[str], workdir: Path, accel: str, boot_limit: float, limit: float, notes: list[str]
) -> str:
    """Run vng to the end or to a limit, carrying out the guest's requests meanwhile
    (tests/vm/host_requests.py); returns why it was stopped ("" if it ended)."""
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    (workdir / "launched").write_text(f"{time.time()}\n{shlex.join(argv)}\n")
    with (
        open(workdir / f"console-{accel}.log", "wb") as console,
        open(workdir / f"vng-{accel}.out", "wb") as out,
    ):
        # Its own session, so a stop reaches qemu and everything vng started.
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=console,
            start_new_session=True,
        )
        started = time.monotonic()
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            booted = (workdir / "booted").exists()
            if not booted and elapsed > boot_limit:
                _stop(proc)
                return f"no boot within {boot_limit:.0f} s"
            if not booted and _panicked(workdir / f"console-{accel}.log"):
                _stop(proc)
                return "the guest kernel panicked while booting"
            if elapsed > limit:
                _stop(proc)
                return f"time limit of {limit:.0f} s reached ({TIMEOUT_ENV} sets it)"
            if booted:
                notes += serve_requests(workdir)
            time.sleep(0.5)
    if not (workdir / "exitcode").exists():
        return f"vng exited with status {proc.returncode} before the guest tests finished"
    return ""


def _panicked(console: Path) -> bool:
    # An early panic halts the guest instead of powering it off: do not wait for
    # the boot limit to notice.
    text = tail(console, 200)
    return "Kernel panic" in text or "PANIC:" in text


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _boot_seconds(workdir: Path) -> float | None:
    try:
        launched = float((workdir / "launched").read_text().split()[0])
        return (workdir / "booted").stat().st_mtime - launched
    except (OSError, ValueError, IndexError):
        return None


def _last_line(path: Path) -> str:
    lines = tail(path, 1)
    return lines or "no console output"


def _read_results(run: GuestRun) -> None:
    try:
        run.exit_code = int((run.workdir / "exitcode").read_text().strip())
    except (OSError, ValueError):
        run.exit_code = None
    started: list[str] = []
    done: set[str] = set()
    try:
        lines = (run.workdir / "progress.jsonl").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed guest
        full = str(record.get("nodeid", ""))
        _phase(run, record)
        if not full:
            continue
        if record.get("event") == "start":
            started.append(full)
            continue
        if record.get("when") == "teardown":
            done.add(full)
        nodeid = full.split("[", 1)[0]
        _fold(run.results.setdefault(nodeid, GuestResult(nodeid)), record)
    unfinished = [n for n in started if n not in done]
    run.running = unfinished[-1] if unfinished else None
    if run.running is not None:
        hung = run.results.setdefault(run.running.split("[", 1)[0], GuestResult(run.running))
        hung.outcome = "error"
        hung.message = f"started in the guest and never finished ({run.error or 'guest ended'})"
    if run.error is None and run.exit_code not in (0, 1):
        run.error = f"the guest pytest exited with status {run.exit_code}"


def _phase(run: GuestRun, record: dict[str, object]) -> None:
    """Where the guest's time went, from its own clock."""
    event, when = record.get("event"), float(str(record.get("time", 0.0)))
    if event == "collected":
        try:
            booted = float((run.workdir / "booted").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        run.phases["pytest start-up"] = when - booted
        run.phases["_collected"] = when
    elif event == "finished" and "_collected" in run.phases:
        run.phases["tests"] = when - run.phases.pop("_collected")


_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def _fold(result: GuestResult, record: dict[str, object]) -> None:
    when, outcome = record.get("when"), str(record.get("outcome"))
    if outcome == "failed" and when != "call":
        outcome = "error"
    result.seconds += float(str(record.get("duration", 0.0)))
    if when == "call":
        properties = record.get("properties")
        if isinstance(properties, list):
            result.properties += [(str(k), str(v)) for k, v in properties]
    if _RANK.get(outcome, 0) > _RANK.get(result.outcome, 0):
        result.outcome = outcome
        result.message = str(record.get("longrepr", ""))
        result.stderr = str(record.get("stderr", ""))


if __name__ == "__main__":  # python -m tests.vm.guest_runner TOPOLOGY [NODEID...]
    from tests.vm.topologies import TOPOLOGIES

    name = sys.argv[1]
    result = run_guest(TOPOLOGIES[name], sys.argv[2:] or ["tests/vm/guest"], fresh_workdir(name))
    print(result.summary())
    for r in result.results.values():
        print(f"  {r.outcome:8} {r.nodeid}")
    if result.error:
        print(result.error, result.tails(), sep="\n")
