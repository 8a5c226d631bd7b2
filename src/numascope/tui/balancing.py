"""NUMA balancing in `top`: the verdict on the detail screen, tiers beside the nodes."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from numascope.snapshot.balancing import BalancingSection, ProcessBalancing, Verdict
from numascope.snapshot.migration import UNKNOWN_NODE, MigrationSection, task_moves_of
from numascope.snapshot.model import Snapshot
from numascope.topology import format_list
from numascope.tui.format import human, percent

MODES = {0: "off", 1: "on", 2: "memory tiering", 3: "on + memory tiering"}

# What each verdict means, in a line (the numbers are in docs/balancing.md).
MEANING = {
    Verdict.OFF: "kernel.numa_balancing is off for this kind of balancing: nothing moves",
    Verdict.QUIET: "too few NUMA hinting faults yet to judge",
    Verdict.LOCAL: "its faults hit memory on the node it runs on: nothing to fix",
    Verdict.IMPROVING: "balancing is moving its memory toward its CPUs",
    Verdict.CHURNING: "balancing migrates many pages and locality does not improve",
    Verdict.STUCK: "its faults are mostly remote and balancing is not moving the memory",
}
STYLE = {Verdict.CHURNING: "bold red", Verdict.STUCK: "bold yellow", Verdict.IMPROVING: "green"}


def mode_text(section: BalancingSection) -> str:
    """`on`, `memory tiering`, or `not available` when the kernel has no such sysctl."""
    mode = section.host.mode
    return "not available" if mode is None else MODES.get(mode, f"mode {mode}")


def tier_suffix(snapshot: Snapshot, node: int) -> str:
    """` tier 4` for the nodes panel's label, "" when tiers are not known."""
    section = snapshot.balancing
    tier = section.tier_of(node) if section is not None else None
    return "" if tier is None else f" tier {tier}"


def host_line(snapshot: Snapshot) -> Text | None:
    """One line under the nodes panel: balancing mode, demotion, tiers; None if not read."""
    section = snapshot.balancing
    if section is None:
        return None
    tiers: dict[int, list[int]] = {}
    for t in section.tiers:
        if t.tier is not None:
            tiers.setdefault(t.tier, []).append(t.node)
    tier_text = (
        ", ".join(f"{tier}: nodes {format_list(nodes)}" for tier, nodes in sorted(tiers.items()))
        or "not available"
    )
    demotion = {None: "not available", True: "on", False: "off"}[section.demotion_enabled]
    delta = section.host.delta
    moved = delta.get("numa_pages_migrated")
    line = f"NUMA balancing {mode_text(section)}"
    if moved is not None:
        line += f" ({human(moved)} pages migrated last interval)"
    # The host's counters: 6.1 counts demotions only there, not per node.
    promoted = delta.get("pgpromote_success", 0)
    demoted = sum(v for k, v in delta.items() if k.startswith("pgdemote"))
    line += f" · demotion {demotion} · tiers {tier_text}"
    if promoted or demoted:
        line += f" · promoted {human(promoted)}, demoted {human(demoted)} pages"
    return Text(line)


def _row_table(row: ProcessBalancing) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for name in ("NODE", "TASK PRIVATE", "TASK SHARED", "GROUP PRIVATE", "GROUP SHARED"):
        table.add_column(name, justify="left" if name == "NODE" else "right")
    for node, f in sorted(row.faults.items()):
        mark = (" ←runs" if node == row.current_node else "") + (
            " ←preferred" if node == row.preferred_node else ""
        )
        table.add_row(
            f"N{node}{mark}",
            human(f.task_private),
            human(f.task_shared),
            human(f.group_private),
            human(f.group_shared),
        )
    return table


def _cgroup_text(section: BalancingSection, path: str) -> Text:
    """A cgroup's memory.stat balancing fields, or why there are none."""
    found = next((c for c in section.cgroups if c.path == path), None)
    fields = {
        "pages migrated": found.numa_pages_migrated if found else None,
        "hint faults": found.numa_hint_faults if found else None,
        "PTE updates": found.numa_pte_updates if found else None,
        "promoted": found.pgpromote_success if found else None,
    }
    if all(v is None for v in fields.values()):
        return Text(
            "Not available: this kernel's cgroup v2 memory.stat has no NUMA balancing "
            "fields (they came after 6.1), or the cgroup is not on the v2 hierarchy."
        )
    return Text(
        " · ".join(f"{k} {'n/a' if v is None else human(v)}" for k, v in fields.items())
        + " (memory.stat, since the cgroup was made)"
    )


def balancing_detail(
    pid: int | None, snapshot: Snapshot, cgroup: str | None = None
) -> RenderableType:
    """The detail screen's section: the verdict, its numbers, and faults per node
    (for a cgroup row: its memory.stat figures)."""
    section = snapshot.balancing
    if section is None:
        return Text("Not available: this snapshot has no balancing section (an older capture).")
    if pid is None and cgroup:
        return _cgroup_text(section, cgroup)
    if pid is None:
        return Text("Not available: NUMA balancing is kept per process, and this row is not one.")
    row = section.process(pid)
    if row is None and section.left_out:
        return Text(
            f"Not in this snapshot: {section.left_out} processes balancing touched are left "
            f"out past the first {len(section.processes)} (churning ones first, then those "
            "that migrated most)."
        )
    if row is None:
        why = (
            "balancing has not faulted or migrated anything for it"
            if section.host.enabled
            else f"NUMA balancing is {mode_text(section)} on this host"
        )
        return Text(f"Nothing to show: {why}.")
    head = Text()
    head.append(f"{row.verdict.value}", style=STYLE.get(row.verdict, "bold"))
    head.append(f": {MEANING[row.verdict]}\n")
    local = "-" if row.locality is None else percent(row.locality)
    before = "-" if row.previous_locality is None else percent(row.previous_locality)
    age = max(0.0, snapshot.time - row.read_at) if row.read_at else 0.0
    head.append(
        f"locality {local} (was {before}) · migrated {human(row.pages_migrated_delta)} pages "
        f"since last read, {human(row.pages_migrated)} in all · preferred node "
        f"{row.preferred_node} (changed {row.preferred_flips} times) · runs on node "
        f"{row.current_node} · read {age:.0f} s ago"
    )
    if row.threads_left_out:
        head.append(
            f" · {row.threads_read} of its {row.threads} threads read: the figures leave "
            f"{row.threads_left_out} out",
            style="bold",
        )
    moves = task_moves_text(snapshot.migrations, row.pid)
    return Group(*(part for part in (head, moves, _row_table(row)) if part is not None))


def task_moves_text(section: MigrationSection | None, pid: int) -> Text | None:
    """`threads NUMA balancing moved 3 (N1 3) · swapped 0 · stuck 6 (no CPU 5, N0 1)`,
    from the migrate family's sched_*_numa counts; None when they are not counted."""
    if section is None or not section.tracks_task_moves:
        return None
    parts = []
    for outcome, moves in task_moves_of(section, pid).items():
        where = ", ".join(
            f"{'no CPU' if n == UNKNOWN_NODE else f'N{n}'} {human(c.total)}"
            for n, c in sorted(moves.to_nodes.items())
            if c.total
        )
        parts.append(f"{outcome} {human(moves.events.total)}" + (f" ({where})" if where else ""))
    return Text(
        "threads NUMA balancing " + " · ".join(parts) + " (sched_*_numa; stuck: it wanted "
        "to move them and found no CPU they may use, or the move failed)"
    )
