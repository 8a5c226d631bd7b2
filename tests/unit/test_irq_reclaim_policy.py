"""Remote-IRQ findings and the "node under reclaim" cause, against crafted snapshots."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from numascope.config import Config
from numascope.config.model import IrqThresholds
from numascope.policy import PREFERRED_FALLBACK, REMOTE_ALLOCATION, evaluate
from numascope.policy.irq import REMOTE_IRQ, judge_irq
from numascope.snapshot.model import Snapshot
from numascope.snapshot.sections import Count, IrqStats, ReclaimNode
from tests.unit.test_policy_engine import snapshot, workload


def irq(device_node: int, handled: dict[int, int], irq_number: int = 45) -> IrqStats:
    return IrqStats(
        irq=irq_number,
        name="virtio5-virtqueues",
        device_node=device_node,
        affinity=(0,),
        count_by_node={n: Count(total=c, delta=c) for n, c in handled.items()},
    )


@pytest.mark.parametrize(
    ("device_node", "handled", "remote"),
    [
        (1, {0: 900, 1: 100}, True),  # moved to the other node's CPU
        (1, {0: 10, 1: 990}, False),  # handled where the device is
        (1, {0: 240, 1: 760}, False),  # just under the 25% threshold
        (1, {0: 250, 1: 750}, True),  # at it
        (-1, {0: 1000}, False),  # device node unknown: nothing to judge against
        (1, {0: 60}, False),  # fewer than min-events in the interval
    ],
)
def test_remote_irq(device_node: int, handled: dict[int, int], remote: bool) -> None:
    finding = judge_irq(irq(device_node, handled), IrqThresholds())
    assert (finding is not None) == remote
    if finding is not None:
        assert finding.kind == REMOTE_IRQ
        assert finding.workload_key == "irq:45"
        assert finding.evidence["device_node"] == 1
        assert "device on node 1" in finding.message


def test_thresholds_come_from_the_config() -> None:
    strict = Config.model_validate({"thresholds": {"irq": {"remote-ratio-warning": 0.05}}})
    snap = dataclasses.replace(snapshot(), irqs=(irq(1, {0: 100, 1: 1900}),))
    assert [f.kind for f in evaluate(snap, strict)] == [REMOTE_IRQ]
    assert evaluate(snap, Config()) == ()


def reclaiming(node: int) -> ReclaimNode:
    return ReclaimNode(node=node, kswapd_wakeups=Count(total=4, delta=4))


def with_reclaim(snap: Snapshot, *nodes: ReclaimNode) -> Snapshot:
    return dataclasses.replace(snap, reclaim=nodes)


def app_config(placement: Any) -> Config:
    return Config.model_validate(
        {
            "rules": [{"name": "app", "match": {"comm": "app"}, "placement": placement}],
            "thresholds": {"min-pages": 100},
        }
    )


def test_fallback_while_the_preferred_node_reclaims_says_so() -> None:
    app = workload("app", {0: 600, 1: 400}, cpu_node=1)
    snap = with_reclaim(snapshot(app), ReclaimNode(node=0), reclaiming(1))
    (finding,) = evaluate(snap, app_config({"preferred": 1}))
    assert finding.kind == PREFERRED_FALLBACK
    assert finding.message.split(" over ")[0].endswith("node 1 under reclaim")
    assert finding.evidence["node_under_reclaim"] == [1]


def test_reclaim_elsewhere_is_not_blamed() -> None:
    app = workload("app", {0: 600, 1: 400}, cpu_node=1)
    snap = with_reclaim(snapshot(app), reclaiming(0), ReclaimNode(node=1))
    (finding,) = evaluate(snap, app_config({"preferred": 1}))
    assert "under reclaim" not in finding.message
    assert "node_under_reclaim" not in finding.evidence


def test_local_workload_blames_the_node_that_did_not_supply_its_pages() -> None:
    # CPU on node 0, node 0 reclaiming, pages spilling to node 1.
    app = workload("app", {0: 300, 1: 700}, cpu_node=0)
    snap = with_reclaim(snapshot(app), reclaiming(0), ReclaimNode(node=1))
    (finding,) = evaluate(snap, app_config("local"))
    assert finding.kind == REMOTE_ALLOCATION
    assert finding.evidence["node_under_reclaim"] == [0]


def test_a_quiet_node_is_not_under_reclaim() -> None:
    assert not ReclaimNode(node=0, kswapd_wakeups=Count(total=9, delta=0)).under_reclaim
    assert ReclaimNode(node=0, kswapd_awake=True).under_reclaim
