"""The real `numascope top` in a real terminal (tmux) shows a workload's Kubernetes pod:
a dd loop in a cgroup named as a burstable pod's container, on this host's kernel."""

from __future__ import annotations

import pytest

from tests.conftest import require_root
from tests.fixtures.pod_cgroup import burstable_pod_container
from tests.tui.terminal import NUMASCOPE, Tmux, quit_and_check_terminal

pytestmark = pytest.mark.kernel


def test_live_top_shows_the_pod_of_a_workload(tmux: Tmux) -> None:
    require_root()
    with burstable_pod_container() as pod:
        tmux.send(f"{NUMASCOPE} top --source bpf --interval 0.5; echo EXIT=$?", "Enter")
        tmux.wait_for("probes)")  # the probe compiled, attached and delivered a snapshot
        # Filter by the container id: only the pod's processes stay, however busy the host.
        # Each step waits for the screen to answer, as a person would, before the next key.
        tmux.send("/")
        tmux.wait_for("Esc clears")
        tmux.send(pod.container_id[:12])
        tmux.wait_for(f"filter “{pod.container_id[:12]}”")
        tmux.send("Enter")
        tmux.wait_for("Quit")  # the box closed: keys go to the table again
        screen = tmux.wait_for(f"{pod.pod_uid[:8]} burstable")
        row = next(line for line in screen.splitlines() if f"{pod.pod_uid[:8]} burstable" in line)
        assert " dd " in row or " sh " in row, row
        tmux.send("g", "g")  # process -> cgroup -> pod
        screen = tmux.wait_for("by pod")
        tmux.send("Enter")  # the pod's detail names it in full
        tmux.wait_for(f"pod {pod.pod_uid}   qos burstable")
        tmux.wait_for(f"container {pod.container_id}")
        tmux.send("Escape")
        tmux.wait_for("by pod")
        quit_and_check_terminal(tmux)
