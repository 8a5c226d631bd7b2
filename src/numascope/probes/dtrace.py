"""Run the FreeBSD D scripts: check dtrace and privileges, list the fbt probes
the running kernel has, and spawn `dtrace -q -Z -s` with the combined script.

fbt function names change between releases and static functions may be
inlined away, so every probe is looked up first; `-Z` lets the script start
with some probes absent, and the missing ones are reported by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from numascope.errors import NumascopeError

SCRIPTS = ("page_alloc.d", "pagedaemon.d", "uma.d", "intr.d", "interval.d")
_PROBE = re.compile(r"^\s*fbt::(\w+):(entry|return)", re.MULTILINE)

Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def script_text(name: str) -> str:
    return resources.files("numascope.probes.freebsd").joinpath(name).read_text()


def fbt_functions() -> tuple[str, ...]:
    """Every fbt function the scripts probe, sorted."""
    names = {m.group(1) for s in SCRIPTS for m in _PROBE.finditer(script_text(s))}
    return tuple(sorted(names))


def combined_script(interval_seconds: int) -> str:
    if interval_seconds < 1:
        raise NumascopeError("--interval: DTrace ticks in whole seconds; use 1 or more")
    body = "\n".join(script_text(s) for s in SCRIPTS)
    return body.replace("NUMASCOPE_INTERVAL", f"{interval_seconds}s")


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class ProbeCheck:
    found: tuple[str, ...]
    missing: dict[str, str]


def check_probes(run: Run = _run, dtrace: str = "dtrace") -> ProbeCheck:
    """Ask `dtrace -l` for each function's entry probe."""
    found, missing = [], {}
    for name in fbt_functions():
        result = run([dtrace, "-l", "-n", f"fbt::{name}:entry"])
        if result.returncode == 0 and name in result.stdout:
            found.append(name)
        else:
            missing[name] = "no fbt probe on the running kernel (renamed or inlined)"
    return ProbeCheck(tuple(found), missing)


def preflight(which: Callable[[str], str | None] = shutil.which, euid: int | None = None) -> str:
    """The dtrace binary, or a one-line NumascopeError saying what is missing."""
    path = which("dtrace")
    if path is None:
        raise NumascopeError("dtrace not found: install it or load dtraceall (kldload dtraceall)")
    if (os.geteuid() if euid is None else euid) != 0:
        raise NumascopeError("dtrace needs root: run numascope as root on FreeBSD")
    return path


def spawn(interval_seconds: int, dtrace: str = "dtrace") -> subprocess.Popen[str]:
    """Start dtrace on the combined script; its stdout is the stream to parse."""
    with tempfile.NamedTemporaryFile("w", suffix=".d", delete=False) as f:
        f.write(combined_script(interval_seconds))
    return subprocess.Popen(
        [dtrace, "-q", "-Z", "-s", f.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # drops and errors ("dtrace: ...") become notes
        text=True,
        bufsize=1,
    )


def script_dir() -> Path:
    return Path(str(resources.files("numascope.probes.freebsd")))
