"""The allocator tab: per-CPU page lists, high-order failures and call sites, slab.

Rates are per second over the snapshot's last interval. A share that deserves a
look carries a `*` (or `!` for failures) as well as colour, for monochrome terminals.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from numascope.snapshot.model import ORDER_CLASSES, Snapshot
from numascope.snapshot.sections import AllocatorSection
from numascope.tui.format import human, percent, rate

# A zone-lock share from here on means the per-CPU lists barely help (marked `*`).
ZONE_LOCK_HIGH = 0.5
# A remote slab share from here on is marked `*`.
SLAB_REMOTE_HIGH = 0.1
# Bounds: the busiest CPUs, call sites and caches; the rest would not fit a screen.
TOP_CPUS = 16
TOP_SITES = 8
TOP_CACHES = 10
FRAMES_SHOWN = 3


def _table(*headers: str, left: tuple[str, ...] = ()) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=False, pad_edge=False)
    for name in headers:
        table.add_column(name, justify="left" if name in left else "right", no_wrap=True)
    return table


def _share(ratio: float, high: float, active: bool) -> Text:
    if not active:
        return Text("-")
    marked = ratio >= high
    return Text(percent(ratio) + ("*" if marked else " "), style="bold red" if marked else "")


def _title(text: str) -> Text:
    return Text(text, style="bold")


def _page_lists(section: AllocatorSection, interval: float) -> list[RenderableType]:
    if not section.page_cache:
        return [Text("No per-CPU page list counts in this snapshot.")]
    nodes = _table("NODE", "ALLOC/s", "REFILL/s", "DIRECT/s", "DRAINED/s", "ZONE LOCK")
    for n in section.page_cache:
        nodes.add_row(
            str(n.node),
            rate(n.alloc_pages.delta, interval),
            rate(n.refill_pages.delta, interval),
            rate(n.direct_pages.delta, interval),
            rate(n.drained_pages.delta, interval),
            _share(n.zone_lock_share, ZONE_LOCK_HIGH, bool(n.alloc_pages.delta)),
        )
    parts: list[RenderableType] = [_title("Per-CPU page lists by page node (pages/s)"), nodes]
    busiest = sorted(section.page_cache_cpus, key=lambda c: (-c.alloc_pages.delta, c.cpu, c.node))[
        :TOP_CPUS
    ]
    if busiest:
        cpus = _table("CPU", "NODE", "ALLOC/s", "LOCKED/s", "DRAINED/s", "ZONE LOCK")
        for c in sorted(busiest, key=lambda c: (c.cpu, c.node)):
            cpus.add_row(
                str(c.cpu),
                str(c.node),
                rate(c.alloc_pages.delta, interval),
                rate(c.zone_locked_pages.delta, interval),
                rate(c.drained_pages.delta, interval),
                _share(c.zone_lock_share, ZONE_LOCK_HIGH, bool(c.alloc_pages.delta)),
            )
        more = len(section.page_cache_cpus) - len(busiest)
        title = "Per CPU" + (f" (the {len(busiest)} busiest; {more} more)" if more > 0 else "")
        parts += [Text(""), _title(title), cpus]
    return parts


def _failures(section: AllocatorSection, interval: float) -> list[RenderableType]:
    parts: list[RenderableType] = [_title("Failed allocations by order class (per second)")]
    if not section.nodes:
        parts.append(Text("No failure counts in this snapshot."))
        return parts
    table = _table("NODE", *(f"o{c}" for c in ORDER_CLASSES), "KCOMPACTD/s")
    for n in section.nodes:
        cells: list[str | Text] = [str(n.node)]
        for c in ORDER_CLASSES:
            count = n.failed_by_order.get(c)
            failed = count.delta if count is not None else 0
            cells.append(
                Text(rate(failed, interval) + "!", style="bold red")
                if failed
                else rate(failed, interval) + " "
            )
        cells.append(rate(n.kcompactd_wakes.delta, interval))
        table.add_row(*cells)
    parts.append(table)
    compaction = [
        f"{name.removeprefix('compact_')} {human(count.delta)}"
        for name, count in section.compaction.items()
    ]
    if compaction:
        parts.append(Text("compaction (host, last interval): " + " · ".join(compaction)))
    return parts


def _sites(section: AllocatorSection, interval: float) -> list[RenderableType]:
    ranked = sorted(
        (s for s in section.high_order_sites if s.events.delta or s.events.total),
        key=lambda s: (s.events.delta, s.pages.delta, s.events.total),
        reverse=True,
    )[:TOP_SITES]
    parts: list[RenderableType] = [_title("Top high-order call sites (order 1 and up)")]
    if not ranked:
        parts.append(Text("No high-order allocations with a call site in this snapshot."))
        return parts
    table = _table(
        "ORDER", "NODE", "WORKLOAD", "EV/s", "PG/s", "TOP FRAMES", left=("WORKLOAD", "TOP FRAMES")
    )
    for s in ranked:
        who = s.workload_name[:16] + (f" {s.pid}" if s.pid is not None else "")
        table.add_row(
            s.order_class,
            str(s.node) if s.node >= 0 else "?",
            who,
            rate(s.events.delta, interval),
            rate(s.pages.delta, interval),
            " < ".join(s.frames[:FRAMES_SHOWN]) or "(no stack)",
        )
    parts.append(table)
    return parts


def _slab(section: AllocatorSection, interval: float, freebsd: bool) -> list[RenderableType]:
    ranked = sorted(
        section.slab_caches, key=lambda c: (c.objects.delta, c.objects.total), reverse=True
    )[:TOP_CACHES]
    # FreeBSD's kernel allocator is UMA, its caches zones, its nodes domains.
    kind = "UMA zones" if freebsd else "Slab caches"
    parts: list[RenderableType] = [_title(f"{kind} (objects/s by the allocating CPU's node)")]
    if not ranked:
        parts.append(
            Text(
                "No UMA zone data in this snapshot: uma.d did not run."
                if freebsd
                else "No slab data in this snapshot: the slab family is asked for by name "
                "(--probes)."
            )
        )
        return parts
    table = _table(
        "ZONE" if freebsd else "CACHE",
        "CPU NODE",
        "OBJ/s",
        "ANY NODE/s",
        "REMOTE",
        left=("ZONE", "CACHE"),
    )
    for c in ranked:
        table.add_row(
            c.cache[:24],
            str(c.cpu_node),
            rate(c.objects.delta, interval),
            rate(c.any_node.delta, interval),
            _share(c.remote_share, SLAB_REMOTE_HIGH, bool(c.objects.delta)),
        )
    parts.append(table)
    return parts


def allocator_panel(snapshot: Snapshot) -> RenderableType:
    """Page lists per node and CPU, failures by order, high-order call sites, slab caches."""
    section = snapshot.allocator
    if section is None:
        return Text(
            "No allocator data in this snapshot: the allocator probe family is not attached "
            "(it needs root and the BPF probes; a capture or stream recorded without it "
            "has none)."
        )
    interval = snapshot.interval
    parts: list[RenderableType] = []
    for block in (_page_lists, _failures, _sites):
        if parts:
            parts.append(Text(""))
        parts += block(section, interval)
    parts.append(Text(""))
    parts += _slab(section, interval, snapshot.host.platform == "freebsd")
    return Group(*parts)
