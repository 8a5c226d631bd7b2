"""Dropping root: in a child process, so the test run itself keeps its privileges."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess

import pytest

from numascope.errors import NumascopeError
from numascope.privileges import CAP_SYS_PTRACE, capabilities, drop_privileges
from tests.conftest import require_root


def in_child(check: object) -> int:
    """Run `check` in a forked child; its exit status (0: every assertion held)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            check()  # type: ignore[operator]
            code = 0
        except BaseException as exc:
            os.write(2, f"child: {type(exc).__name__}: {exc}\n".encode())
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_unknown_user_is_a_numascope_error() -> None:
    with pytest.raises(NumascopeError, match="no such user"):
        drop_privileges("no-such-user-here")


def test_drop_keeps_only_the_named_capabilities_and_open_descriptors() -> None:
    require_root()
    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    root_process = subprocess.Popen(["sleep", "60"])

    def check() -> None:
        dropped = drop_privileges("nobody")
        assert os.getuid() == os.geteuid() == nobody.pw_uid == dropped.uid
        assert os.getgid() == nobody.pw_gid and os.getgroups() == []
        assert capabilities() == 1 << CAP_SYS_PTRACE | 1 << 2 | 1 << 34
        with pytest.raises(PermissionError):
            os.setuid(0)
        with pytest.raises(PermissionError):
            socket.socket().bind(("127.0.0.1", 80))  # CAP_NET_BIND_SERVICE gone
        os.write(w, b"ok")  # descriptors opened as root still work
        listener.listen()
        # CAP_SYS_PTRACE kept: a root process's numa_maps and exe are readable.
        with open(f"/proc/{root_process.pid}/numa_maps") as maps:
            assert maps.read(1) != ""
        assert os.readlink(f"/proc/{root_process.pid}/exe").endswith("sleep")

    try:
        assert in_child(check) == 0
        assert os.read(r, 2) == b"ok"
    finally:
        root_process.kill()
        root_process.wait()
        os.close(r)
        os.close(w)
        listener.close()
