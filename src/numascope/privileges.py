"""Give up root once the probes are attached.

The BPF programs, maps and the run-time statistics switch are all held as
file descriptors, and map reads on a descriptor already open need no
privilege, so a long-running command can carry on as an ordinary user. Three
capabilities are kept, and only these, because later reads need them:

- CAP_SYS_PTRACE: other users' `/proc/PID/numa_maps` and `/proc/PID/exe`
  (policy drift, `match.exe` rules, the detail screen);
- CAP_DAC_READ_SEARCH: cgroup directories and a root-only policy file
  re-read on SIGHUP;
- CAP_SYSLOG: kernel addresses in `/proc/kallsyms`, to name allocation sites.

Everything else goes (CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN,
setuid back to root), and no-new-privileges is set, so nothing exec'd later
gains any. The trade-off: a process holding CAP_SYS_PTRACE may still read other
processes' memory maps, which is what the policy checks need.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass

from numascope.errors import NumascopeError

CAP_DAC_READ_SEARCH = 2
CAP_SYS_PTRACE = 19
CAP_SYSLOG = 34
KEPT_CAPABILITIES = (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYSLOG)

PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


@dataclass(frozen=True)
class Dropped:
    user: str
    uid: int
    gid: int
    kept: tuple[int, ...]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise NumascopeError(f"dropping privileges: {what}: {os.strerror(err)}")


def _capset(libc: ctypes.CDLL, caps: Iterable[int]) -> None:
    words = [0, 0]
    for cap in caps:
        words[cap // 32] |= 1 << (cap % 32)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)(*(_CapData(w, w, 0) for w in words))
    _check(libc.capset(ctypes.byref(header), data), "capset")


def capabilities(pid: int | str = "self") -> int:
    """The effective capability mask of a process, from /proc/PID/status."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        lines = status.read().splitlines()
    for line in lines:
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def drop_privileges(user: str, keep: Iterable[int] = KEPT_CAPABILITIES) -> Dropped:
    """Become `user` (and its group, no supplementary groups), keeping only `keep`.

    Open descriptors stay usable. Raises NumascopeError when the user does not
    exist or any step fails; by then nothing half-done is left to run on, as the
    caller stops.
    """
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise NumascopeError(
            f"--user {user}: no such user (create it, or pass --no-drop-privileges)"
        ) from None
    kept = tuple(sorted(set(keep)))
    libc = _libc()
    _check(libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keep capabilities across setuid")
    try:
        os.setgroups([])
        os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
        os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    except OSError as exc:
        raise NumascopeError(f"dropping privileges to {user}: {exc.strerror}") from None
    _capset(libc, kept)
    _check(libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "clear keep-capabilities")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no new privileges")
    if pw.pw_uid != 0:
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:
            raise NumascopeError(f"dropping privileges to {user}: root could be regained")
    return Dropped(user, pw.pw_uid, pw.pw_gid, kept)
