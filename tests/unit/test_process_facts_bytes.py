"""A process whose name and mapped files hold any byte is still described."""

from __future__ import annotations

import shutil
from pathlib import Path

from numascope.collectors.system_facts import read_process_facts

FIXTURES = Path(__file__).parent.parent / "fixtures" / "proc"


def test_invalid_utf8_in_status_and_numa_maps(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    shutil.copytree(FIXTURES / "4242", proc / "4242", symlinks=True)
    pid_dir = proc / "4242"
    status = (pid_dir / "status").read_bytes()
    (pid_dir / "status").write_bytes(status.replace(b"Name:", b"Name:\tx\xff\xfe\nOld:", 1))
    maps = (pid_dir / "numa_maps").read_bytes()
    (pid_dir / "numa_maps").write_bytes(
        maps + b"7f0000000000 default file=/tmp/odd\xff\xfename anon=2 N0=2\n"
    )
    (pid_dir / "cmdline").write_bytes(b"prog\0--name=\xff\0")
    facts = read_process_facts(4242, proc)
    assert facts is not None
    assert facts.cmdline == ("prog", "--name=\\xff")
