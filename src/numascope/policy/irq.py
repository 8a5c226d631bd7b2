"""Remote IRQs: an interrupt handled mostly on a node other than its device's.

The handler runs where the IRQ's affinity sends it; the device's DMA buffers
and the memory its handler and softirq allocate sit on the device's node (or
become remote for the handling CPU). Judged per snapshot interval, on IRQs with
a known device node and at least `min-events` handlings in the interval.
"""

from __future__ import annotations

from numascope.config.model import IrqThresholds
from numascope.snapshot.model import Finding, Severity, Snapshot
from numascope.snapshot.sections import IrqStats
from numascope.topology import format_list

REMOTE_IRQ = "remote-irq"
RULE = "irq-placement"


def judge_irq(irq: IrqStats, thresholds: IrqThresholds) -> Finding | None:
    """A remote-IRQ finding for `irq`, or None when it is handled near its device."""
    if irq.device_node < 0:
        return None
    handled = sum(c.delta for c in irq.count_by_node.values())
    if handled <= 0 or handled < thresholds.min_events:
        return None
    share = irq.remote_share
    if share <= 0 or share < thresholds.remote_ratio_warning:
        return None
    where = {n: c.delta for n, c in irq.count_by_node.items() if c.delta}
    busiest = max(where, key=lambda n: (where[n], -n))
    affinity = format_list(irq.affinity) if irq.affinity else "?"
    message = (
        f"IRQ {irq.irq} ({irq.name}): {share:.0%} of {handled:.0f} interrupts handled on "
        f"node {busiest}, device on node {irq.device_node} (affinity CPUs {affinity})"
    )
    return Finding(
        workload_key=f"irq:{irq.irq}",
        workload_name=irq.name,
        rule=RULE,
        kind=REMOTE_IRQ,
        severity=Severity.WARNING,
        message=message,
        evidence={
            "irq": irq.irq,
            "device_node": irq.device_node,
            "handled_by_node": {str(n): v for n, v in sorted(where.items())},
            "ratio": round(share, 4),
            "affinity": list(irq.affinity),
        },
    )


def judge_irqs(snapshot: Snapshot, thresholds: IrqThresholds) -> list[Finding]:
    """Remote-IRQ findings for every IRQ in the snapshot."""
    out = []
    for irq in snapshot.irqs:
        finding = judge_irq(irq, thresholds)
        if finding is not None:
            out.append(finding)
    return out
