"""Memory tiers, demotion and the host's NUMA balancing counters, from sysfs and procfs.

Every reader takes its root folder so tests run on fixture trees. What the
kernel does not offer is None or absent, never 0: the memory-tiering folder
appeared in 6.1 (only with CONFIG_NUMA on a kernel with tiers), demotion_enabled
in 5.15, the promotion/demotion counters in nodeN/vmstat with 6.1 (pgdemote_proactive
later).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from numascope.collectors.kernel_counters import parse_key_values
from numascope.topology import parse_list

# The /proc/vmstat counters of NUMA balancing (CONFIG_NUMA_BALANCING).
HOST_KEYS = (
    "numa_pte_updates",
    "numa_huge_pte_updates",
    "numa_hint_faults",
    "numa_hint_faults_local",
    "numa_pages_migrated",
)
# The per-node promotion and demotion counters in nodeN/vmstat (6.1 has only the
# promotion ones there; its demotion counters are host-wide, in /proc/vmstat).
TIER_KEYS = (
    "pgpromote_success",
    "pgpromote_candidate",
    "pgdemote_kswapd",
    "pgdemote_direct",
    "pgdemote_khugepaged",
    "pgdemote_proactive",
)
_TIER_DIR = re.compile(r"memory_tier(\d+)$")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def read_balancing_mode(proc: Path = Path("/proc")) -> int | None:
    """kernel.numa_balancing (0 off, 1 normal, 2 tiering, 3 both); None: no sysctl."""
    text = _read(proc / "sys/kernel/numa_balancing")
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def read_host_counters(proc: Path = Path("/proc")) -> dict[str, int]:
    """NUMA balancing's and tiering's /proc/vmstat counters (only those the kernel has)."""
    values = parse_key_values(_read(proc / "vmstat") or "")
    return {k: values[k] for k in (*HOST_KEYS, *TIER_KEYS) if k in values}


def read_demotion_enabled(sysfs: Path = Path("/sys")) -> bool | None:
    """/sys/kernel/mm/numa/demotion_enabled ("true"/"false"); None when absent."""
    text = _read(sysfs / "kernel/mm/numa/demotion_enabled")
    if text is None:
        return None
    return text.strip() in ("true", "1", "y", "Y")


def read_tiers(sysfs: Path = Path("/sys")) -> dict[int, int]:
    """node -> the number of its memory tier; empty when the kernel has no tiering sysfs."""
    root = sysfs / "devices/virtual/memory_tiering"
    tiers: dict[int, int] = {}
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return tiers
    for entry in entries:
        m = _TIER_DIR.match(entry.name)
        text = _read(entry / "nodelist") if m else None
        if m is None or text is None:
            continue
        try:
            nodes = parse_list(text.strip())
        except ValueError:
            continue
        for node in nodes:
            tiers[node] = int(m.group(1))
    return tiers


def read_node_tier_counters(
    nodes: Iterable[int], sysfs: Path = Path("/sys")
) -> dict[int, dict[str, int]]:
    """node -> its promotion/demotion counters (only the keys its kernel prints)."""
    out: dict[int, dict[str, int]] = {}
    for node in nodes:
        text = _read(sysfs / "devices/system/node" / f"node{node}" / "vmstat")
        values = parse_key_values(text or "")
        out[node] = {k: values[k] for k in TIER_KEYS if k in values}
    return out


def deltas(now: Mapping[str, int], before: Mapping[str, int] | None) -> dict[str, int]:
    """What each counter added since `before` (0 at the first reading)."""
    if before is None:
        return dict.fromkeys(now, 0)
    return {k: v - before.get(k, v) for k, v in now.items()}
