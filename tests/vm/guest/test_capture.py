"""`numascope capture` in a 2-node guest: the capture holds a bound workload's remote
pages and its finding, the report's verdict names it and the node, and the TUI
replays it with the same row and flag as live (issue 8, "Done when")."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from numascope.capture.file import read_capture
from numascope.capture.replay import open_replay
from numascope.collectors.live import LiveSource
from numascope.config import Config, PolicyHolder
from numascope.exporters.report.build import build_report
from numascope.exporters.report.markdown import render_markdown
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.policy import REMOTE_ALLOCATION
from numascope.tui.app import TopApp
from numascope.tui.feed import ThreadFeed
from numascope.tui.workloads import WorkloadTable
from tests.conftest import require_root
from tests.tui.conftest import FAST, played, screen_text
from tests.vm.guest.workloads import dd_touch, pages, run_in_cgroup
from tests.vm.topologies import GuestTopology

pytestmark = pytest.mark.guest

MIB = 64
# Bounds a stuck capture (the probes compile in 15 to 22 s here); not a timing check.
HANG = 300
CONFIG = """
rules:
  - name: guest
    match: {comm: dd}
    placement: local
thresholds: {min-pages: 1000}
"""


def _line_with(proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            return
    proc.wait(HANG)
    pytest.fail(f"capture ended (exit {proc.returncode}) before {marker!r}: {seen}")


async def _replayed_row_line(path: Path, pid: int) -> tuple[bool, str]:
    step = PolicyStep(PolicyHolder(Config()), proc=None, rejudge=False)
    feed = ThreadFeed(PacedPoller(open_replay(path), Pacer(FAST), step))
    app = TopApp(feed, interval=FAST, mode="replay")
    async with app.run_test(size=(160, 40)) as pilot:
        await played(pilot)
        # The guest has a hundred processes and dd exited before the last
        # snapshots (no pages per second left to sort it up): filter to its row,
        # as a user would, so it is on screen whatever the sort.
        await pilot.press("slash", *str(pid), "enter")
        await pilot.pause()
        shown = any(r.pid == pid for r in app.query_one(WorkloadTable).rows_shown)
        # An exited process's pid is shown with a dagger ("272†").
        line = next((x for x in screen_text(app).splitlines() if re.search(rf" {pid}†? ", x)), "")
        return shown, line


@pytest.mark.topologies("two_node")
def test_capture_of_a_membind_workload_under_a_local_rule(
    live: LiveSource, guest: GuestTopology, tmp_path: Path
) -> None:
    # `live` is unused but sets the guest up as every scenario expects: base pages
    # only, numa_stat on, and this process (so the capture too) on node 0's CPUs.
    require_root()
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "guest.capture.gz"
    argv = ["capture", "--duration", "1h", "--config", str(config), "-o", str(out)]
    capture = subprocess.Popen(
        ["numactl", "--cpunodebind=0", sys.executable, "-m", "numascope", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _line_with(capture, "1 snapshot,")  # the probes are in
        dd = run_in_cgroup(
            "capture_membind", dd_touch(MIB, "--cpunodebind=0", "--membind=1"), cpu_node=0
        )
        # Two more polls drain what per-CPU slots still held when dd exited.
        _line_with(capture, "snapshots,")
        _line_with(capture, "snapshots,")
        capture.send_signal(signal.SIGINT)
        _, err = capture.communicate(timeout=HANG)
    finally:
        capture.kill()
    assert capture.returncode == 0, err

    # Every check runs and all that failed are reported together: one guest boot costs
    # minutes, so a run should say everything that is wrong.
    problems: list[str] = []
    recorded = read_capture(out)
    row = recorded.snapshots[-1].process(f"pid:{dd.pid}")
    if row is None:
        pytest.fail(f"pid {dd.pid} is not in the capture's last snapshot")
    if row.name != "dd":
        problems.append(f"pid {dd.pid} is named {row.name!r}, not 'dd'")
    if row.total.pages_by_node.get(1, 0) < pages(MIB) or row.total.remote_pages < pages(MIB):
        problems.append(f"fewer than {pages(MIB)} remote pages from node 1: {row.total}")
    findings = [f for s in recorded.snapshots for f in s.findings if f.pid == dd.pid]
    if not any(f.kind == REMOTE_ALLOCATION and f.rule == "guest" for f in findings):
        problems.append(f"no remote-allocation finding under rule 'guest': {findings}")
    topology = recorded.header.topology
    if topology is None or topology.node_ids != guest.node_ids:
        problems.append(f"header topology {topology}")

    report = build_report(recorded)
    if (report.verdict.workload, report.verdict.node) != (f"dd (pid {dd.pid})", 1):
        problems.append(f"verdict names the wrong workload or node: {report.verdict}")
    verdict = render_markdown(report).split("## Summary")[0]
    if f"dd (pid {dd.pid})" not in verdict or "node 1" not in verdict:
        problems.append(f"Markdown verdict: {verdict!r}")

    shown, line = asyncio.run(_replayed_row_line(out, dd.pid))
    if not shown or "dd" not in line or "CRIT" not in line:
        problems.append(f"replayed TUI row for pid {dd.pid} (shown: {shown}): {line!r}")
    assert not problems, "\n".join(problems)
