"""The interrupt probe: hard IRQ and softirq counts and handler time per CPU.

What it measures (kept next to the C in irq.bpf.c):
  irq:irq_handler_entry/_exit   count and handler time per IRQ number, per CPU
  irq:softirq_entry/_exit       count and time per softirq vector, per CPU
Maps (read by numascope.collectors.irqs):
  irq_stats      per-CPU (count, ns) per IRQ number; the last slot takes the rest
  softirq_stats  per-CPU (count, ns) per softirq vector
These programs are separate from page_alloc's interrupt-context marks on the
same tracepoints, so either family can run without the other.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from numascope.probes import bcc_loader
from numascope.probes.programs import (
    FamilySource,
    LoadedFamily,
    Program,
    build_family_source,
    load_family,
)
from numascope.probes.tracepoints import Tracepoint

NAME = "irq"
NR_SOFTIRQS = 10
MIN_IRQ_SLOTS = 256
MAX_IRQ_SLOTS = 16384

PROGRAMS = (
    Program(
        "on_irq_entry",
        Tracepoint("irq", "irq_handler_entry"),
        None,
        (),
        "hardirq",
        "no hard IRQ counts or handler time",
    ),
    Program(
        "on_irq_exit",
        Tracepoint("irq", "irq_handler_exit"),
        "irq_exit_args",
        ("irq",),
        "hardirq",
        "no hard IRQ counts or handler time",
    ),
    Program(
        "on_softirq_entry",
        Tracepoint("irq", "softirq_entry"),
        None,
        (),
        "softirq",
        "no softirq counts or time",
    ),
    Program(
        "on_softirq_exit",
        Tracepoint("irq", "softirq_exit"),
        "softirq_exit_args",
        ("vec",),
        "softirq",
        "no softirq counts or time",
    ),
)


@dataclass(frozen=True)
class IrqLayout:
    irq_slots: int
    softirq_slots: int = NR_SOFTIRQS + 1

    @property
    def irq_overflow_slot(self) -> int:
        return self.irq_slots - 1


def layout_for(highest_irq: int) -> IrqLayout:
    """Room for every IRQ number seen now and as many again for ones added later."""
    wanted = max(MIN_IRQ_SLOTS, 2 * (highest_irq + 1) + 1)
    return IrqLayout(irq_slots=min(wanted, MAX_IRQ_SLOTS))


def build_source(
    layout: IrqLayout, tracefs: Path = bcc_loader.TRACEFS, absent: Collection[str] = ()
) -> FamilySource:
    template = resources.files("numascope.probes").joinpath("irq.bpf.c").read_text()
    defines = {"IRQ_SLOTS": layout.irq_slots, "SOFTIRQ_SLOTS": layout.softirq_slots}
    return build_family_source(template, PROGRAMS, defines, tracefs, absent)


@dataclass
class IrqProbe:
    family: LoadedFamily
    layout: IrqLayout


def attach_irq(
    highest_irq: int,
    headers: str | None = None,
    tracefs: Path = bcc_loader.TRACEFS,
    absent: Collection[str] = (),
) -> IrqProbe:
    """Compile, load and attach the interrupt probe (whatever of it this kernel allows)."""
    bcc_loader.import_bcc()
    bcc_loader.check_privileges()
    bcc_loader.ensure_tracefs()
    layout = layout_for(highest_irq)
    source = build_source(layout, tracefs, absent)
    return IrqProbe(load_family(NAME, source, PROGRAMS, headers), layout)
