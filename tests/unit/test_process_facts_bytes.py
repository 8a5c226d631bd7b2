"""A process whose name and mapped files hold any byte is still described."""

from __future__ import annotations

import shutil
from pathlib import Path

from numascope.capture.facts import read_process_facts
from numascope.capture.workload_facts import TopWorkloadFacts
from tests.fixtures import streams

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
    facts = read_process_facts(4242, proc=proc)
    assert facts is not None
    assert facts.cmdline == ("prog", "--name=\\xff")


def test_a_process_caught_exiting_keeps_the_facts_read_while_it_ran(tmp_path: Path) -> None:
    # Captured while it ran, then refreshed at the end as a zombie: its command
    # line and numa_maps are empty by then, and must not replace what was read.
    proc = tmp_path / "proc"
    shutil.copytree(FIXTURES / "4242", proc / "4242", symlinks=True)
    (proc / "4242" / "cmdline").write_bytes(b"dd\0if=/dev/zero\0")
    snapshot = streams.snapshot(1, [streams.process(4242, "dd", {0: 100}, 1)])
    facts = TopWorkloadFacts(proc=proc)
    facts.observe(snapshot)
    (proc / "4242" / "cmdline").write_bytes(b"")
    (proc / "4242" / "numa_maps").write_bytes(b"")
    (final,) = facts.final(snapshot)
    assert final.cmdline == ("dd", "if=/dev/zero")
    # A live process's fresh facts still win when they say something.
    (proc / "4242" / "cmdline").write_bytes(b"dd\0of=/dev/null\0")
    (final,) = facts.final(snapshot)
    assert final.cmdline == ("dd", "of=/dev/null")
