"""The one place numascope imports bcc, with a one-line answer for each failure.

Everything that can stop a probe from loading is checked here before bcc is
asked, because bcc's own errors are multi-line compiler dumps or bare
"Failed to attach" exceptions that do not say what to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numascope.errors import ProbeUnavailableError
from numascope.probes.compiler_pages import drop_compiler_code
from numascope.probes.kernel_headers import resolve_kernel_headers

DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"
TRACEFS = Path("/sys/kernel/tracing")

# Capability bits (linux/capability.h).
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39


def import_bcc() -> Any:
    """Import Debian's bcc module, even from a venv that cannot see it."""
    try:
        import bcc
    except ImportError:
        if os.path.isdir(f"{DEBIAN_DIST_PACKAGES}/bcc") and DEBIAN_DIST_PACKAGES not in sys.path:
            # The bcc module is pure Python over libbcc.so: borrowing Debian's copy works.
            sys.path.append(DEBIAN_DIST_PACKAGES)
            return import_bcc()
        raise ProbeUnavailableError(
            "bcc is not installed: apt-get install python3-bpfcc "
            "(not `pip install bcc`: PyPI's bcc is an unrelated project)",
            "no_bcc",
        ) from None
    if not hasattr(bcc, "BPF"):
        raise ProbeUnavailableError(
            f"the `bcc` module at {getattr(bcc, '__file__', '?')} is not iovisor's bcc "
            "(PyPI's bcc is an unrelated project): pip uninstall bcc; "
            "apt-get install python3-bpfcc",
            "no_bcc",
        )
    return bcc


def effective_capabilities(status_path: Path = Path("/proc/self/status")) -> int:
    for line in status_path.read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def check_privileges(caps: int | None = None) -> None:
    """Loading tracing programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)."""
    caps = effective_capabilities() if caps is None else caps
    if caps & (1 << CAP_SYS_ADMIN):
        return
    if caps & (1 << CAP_BPF) and caps & (1 << CAP_PERFMON):
        return
    raise ProbeUnavailableError(
        "loading BPF probes needs root, or CAP_BPF and CAP_PERFMON: run with sudo "
        "(or use --source kernel for the kernel-counter view, which needs no privilege)",
        "no_privilege",
    )


# bpf(2)'s number where numascope runs (asm/unistd.h); elsewhere the check is skipped.
BPF_SYSCALL = {"x86_64": 321, "aarch64": 280}
BPF_MAP_CREATE = 0
BPF_MAP_TYPE_ARRAY = 2


@functools.cache
def check_bpf_syscall() -> None:
    """Make a one-entry map: a refusal here is a policy, not a compiler, problem.

    The capabilities can be all there and bpf() still refused: container runtimes'
    default seccomp profiles allow it only with CAP_SYS_ADMIN. bcc would then
    report "Failed to compile BPF module", which points the wrong way.
    """
    number = BPF_SYSCALL.get(os.uname().machine)
    caps = effective_capabilities()
    if number is None or not caps & ((1 << CAP_BPF) | (1 << CAP_SYS_ADMIN)):
        return  # without the capabilities, check_privileges says what is missing
    attr = (ctypes.c_uint32 * 32)(BPF_MAP_TYPE_ARRAY, 4, 4, 1)  # type, key, value, entries
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(number, BPF_MAP_CREATE, ctypes.byref(attr), ctypes.sizeof(attr))
    if fd >= 0:
        os.close(fd)
        return
    err = ctypes.get_errno()
    if err == errno.EPERM:
        raise ProbeUnavailableError(
            "the kernel refused the bpf() system call (EPERM) although numascope has the "
            "capabilities for it: in a container, the runtime's default seccomp profile "
            "allows bpf() only with CAP_SYS_ADMIN (add SYS_ADMIN: docs/container.md)",
            "no_privilege",
        )


def ensure_tracefs(tracefs: Path = TRACEFS) -> None:
    """bcc attaches tracepoints through tracefs; mount it if we may."""
    if (tracefs / "events").is_dir():
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"nodev", str(tracefs).encode(), b"tracefs", 0, None) != 0:
        err = ctypes.get_errno()
        raise ProbeUnavailableError(
            f"tracefs is not mounted at {tracefs} and mounting it failed "
            f"({os.strerror(err)}): mount -t tracefs nodev {tracefs}",
            "no_tracefs",
        )


def tracepoint_exists(category: str, event: str, tracefs: Path = TRACEFS) -> bool:
    return (tracefs / "events" / category / event).is_dir()


def load_program(text: str, headers: str | None = None, cflags: list[str] | None = None) -> Any:
    """Check the environment, then compile and load `text` with bcc (no attaching).

    Returns the `bcc.BPF` object. Tracepoints are attached by the caller so that a
    missing one costs only its own probe.
    """
    bcc = import_bcc()
    check_privileges()
    check_bpf_syscall()
    ensure_tracefs()
    tree = resolve_kernel_headers(headers)
    if tree is not None:
        os.environ["BCC_KERNEL_SOURCE"] = str(tree)
    try:
        return bcc.BPF(text=text, cflags=cflags or [], debug=0)
    except Exception as exc:  # bcc raises bare Exception for compile errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ProbeUnavailableError(
            f"compiling the BPF program failed: {first}", "compile_failed"
        ) from exc


def tracepoint_detachers(bpf: Any) -> list[Callable[[], None]]:
    """One call per tracepoint attached through the bcc object `bpf`, detaching it.

    Detaching the last program from a tracepoint waits in the kernel for an RCU
    grace period (about 70 ms here), so a caller with many runs them together,
    where they share grace periods; `bpf.cleanup()` then finds them gone."""
    return [functools.partial(bpf.detach_tracepoint, tp) for tp in list(bpf.tracepoint_fds)] + [
        functools.partial(bpf.detach_raw_tracepoint, tp) for tp in list(bpf.raw_tracepoint_fds)
    ]


def release_compiler_memory() -> None:
    """Give back to the system the heap that compiling left free.

    Clang and LLVM free most of what they allocate when a program is loaded,
    but glibc keeps the freed heap: about 45 MB of RSS after compiling the
    probe families here. A long-running command calls this once after attaching.
    The compiler's code pages go too (about 85 MB: see compiler_pages).
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    drop_compiler_code()
