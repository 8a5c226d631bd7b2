"""`top` with a balancing section: tiers beside the nodes, the verdict on the detail screen."""

from __future__ import annotations

from pathlib import Path

from numascope.capture.replay import ReplaySource
from numascope.config import Config, PolicyHolder
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.balancing import (
    BalancingSection,
    HostBalancing,
    NodeFaults,
    NodeTier,
    ProcessBalancing,
    Verdict,
)
from numascope.snapshot.model import Snapshot
from numascope.tui.app import TopApp
from numascope.tui.detail import DetailScreen
from numascope.tui.feed import ThreadFeed
from tests.fixtures import streams
from tests.tui.conftest import FAST, played, screen_text, until


def churning_stream(count: int = 3) -> list[Snapshot]:
    """A java process that balancing churns, on a host with a CPU-less lower tier."""
    snaps = []
    for seq in range(1, count + 1):
        java = ProcessBalancing(
            pid=4242,
            name="java",
            current_node=0,
            preferred_node=seq % 2,
            pages_migrated=20000 * seq,
            pages_migrated_delta=20000 if seq > 1 else 0,
            total_faults=4000,
            faults={0: NodeFaults(1200, 0, 0, 0), 1: NodeFaults(2800, 0, 0, 0)},
            locality=0.3,
            previous_locality=0.3 if seq > 1 else None,
            preferred_flips=seq - 1,
            verdict=Verdict.CHURNING if seq > 1 else Verdict.STUCK,
            read_at=streams.T0 + seq,
        )
        section = BalancingSection(
            host=HostBalancing(
                1, {"numa_pages_migrated": 20000 * seq}, {"numa_pages_migrated": 20000}
            ),
            processes=(java,),
            tiers=(
                NodeTier(0, 4),
                NodeTier(1, 4),
                NodeTier(2, 22, cpuless=True, delta={"pgdemote_kswapd": 512}),
            ),
            demotion_enabled=True,
        )
        procs = [streams.process(4242, "java", {0: 300, 1: 700}, seq)]
        snaps.append(streams.snapshot(seq, procs, balancing=section))
    return snaps


def judged_replay(tmp_path: Path, snapshots: list[Snapshot]) -> TopApp:
    """`numascope top --replay FILE` with the policy judging the replay again."""
    stream = streams.write_stream(tmp_path / "stream.jsonl", snapshots)
    step = PolicyStep(PolicyHolder(Config()), proc=None, rejudge=True)
    feed = ThreadFeed(PacedPoller(ReplaySource.from_file(stream), Pacer(FAST), step))
    return TopApp(feed, interval=FAST, mode="replay")


async def test_tiers_beside_nodes_and_churn_verdict_in_detail(tmp_path: Path) -> None:
    app = judged_replay(tmp_path, churning_stream())
    async with app.run_test(size=(140, 60)) as pilot:
        await played(pilot)
        text = screen_text(app)
        assert "2 tier 22 (no cpus)" in text
        assert "NUMA balancing on (20k pages migrated last interval)" in text
        assert "demotion on · tiers 4: nodes 0-1, 22: nodes 2" in text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "detail screen")
        await pilot.pause()
        text = screen_text(app)
        assert "churning: balancing migrates many pages and locality does not improve" in text
        assert "locality 30% (was 30%)" in text
        assert "balancing-churns" in text  # the policy's finding, judged from the section
        assert "kernel.numa_balancing=0" in text  # and what to do about it
