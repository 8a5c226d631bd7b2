"""Samples for the balancing section: host NUMA balancing, per-process verdicts, tiers.

Per process, pages migrated go through the budgeted ledger like the workload
families: the processes that migrated most get series (up to the workload
budget, a series counting from 0 when it is named) and `workload="other"` the
rest, so the series add up. Figures the kernel does not offer are left out,
never written as 0.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from numascope.exporters.prometheus.budgeted import OTHER_LABELS, Exposure
from numascope.exporters.prometheus.catalogue_balancing import HOST_COUNTERS
from numascope.exporters.prometheus.labels import label_value, node_label
from numascope.snapshot.balancing import BalancingSection

if TYPE_CHECKING:
    from numascope.exporters.prometheus.families import Samples

_DEMOTED = ("kswapd", "direct", "khugepaged", "proactive")


def balancing_samples(
    s: Samples, section: BalancingSection | None, limit: int, exposure: Exposure
) -> None:
    """Add the balancing section's samples (nothing when the snapshot has none)."""
    if section is None:
        return
    host = section.host
    if host.mode is not None:
        s.set("numascope_numa_balancing_mode", (), host.mode)
    for key, value in host.total.items():
        if key in HOST_COUNTERS:
            s.set(HOST_COUNTERS[key], (), value)
    if "pgpromote_success" in host.total:
        s.set("numascope_memory_tier_host_promoted_pages", (), host.total["pgpromote_success"])
    for reason in _DEMOTED:
        if f"pgdemote_{reason}" in host.total:
            demoted = host.total[f"pgdemote_{reason}"]
            s.set("numascope_memory_tier_host_demoted_pages", (reason,), demoted)
    verdicts = section.verdicts or Counter(p.verdict.value for p in section.processes)
    for verdict, count in verdicts.items():
        s.set("numascope_numa_balancing_processes", (verdict,), count)
    if exposure.balancing is not None:
        for who, values in exposure.balancing.rows(OTHER_LABELS["balancing"]):
            s.set("numascope_numa_balancing_process_migrated_pages", who, int(values.sum()))
    ranked = sorted(section.processes, key=lambda p: (-p.pages_migrated, p.pid))[:limit]
    for p in ranked:
        who = (label_value(p.name), str(p.pid))
        if p.locality is not None:
            labels = (*who, p.verdict.value)
            s.set("numascope_numa_balancing_process_locality_ratio", labels, p.locality)
    if section.demotion_enabled is not None:
        s.set("numascope_memory_tier_demotion_enabled", (), int(section.demotion_enabled))
    for t in section.tiers:
        node = node_label(t.node)
        if t.tier is not None:
            s.set("numascope_memory_tier", (node, str(t.tier)), 1)
        if "pgpromote_success" in t.total:
            s.set("numascope_memory_tier_promoted_pages", (node,), t.total["pgpromote_success"])
        for reason in _DEMOTED:
            on_node = t.total.get(f"pgdemote_{reason}")
            if on_node is not None:
                s.set("numascope_memory_tier_demoted_pages", (node, reason), on_node)
