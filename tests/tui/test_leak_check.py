"""The leak check itself: it must see a tagged `numascope` process, and only tagged ones."""

from __future__ import annotations

import os
import subprocess

from tests.tui.conftest import TAG, tagged_processes


def test_leak_check_finds_a_tagged_numascope_process(no_leftover_numascope: str) -> None:
    assert os.environ[TAG] == no_leftover_numascope
    # `exec -a` names the process as a leaked `numascope top` would be named.
    child = subprocess.Popen(["bash", "-c", "exec -a 'numascope top --replay x' sleep 600"])
    try:
        found: dict[int, str] = {}
        for _ in range(100):  # until bash has exec'd sleep
            found = tagged_processes(no_leftover_numascope)
            if found.get(child.pid, "").startswith("numascope"):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert found.get(child.pid, "").startswith("numascope top")
        assert child.pid not in tagged_processes("another-test")
    finally:
        child.kill()
        child.wait()
    assert child.pid not in tagged_processes(no_leftover_numascope)
