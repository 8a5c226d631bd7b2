"""What the kernel says about each IRQ: name, handlers, affinity, device node.

Readers take the procfs and sysfs roots as parameters. The device's node comes
first from its PCI device's `numa_node` (MSI/MSI-X vectors are listed under
the device's `msi_irqs/`, legacy lines in its `irq` file), then from
`/proc/irq/N/node`. A PCI device that reports -1 has no known node, and that
stays unknown rather than falling back to the IRQ descriptor's node, which the
kernel fills in with node 0 on such machines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from numascope.errors import NumascopeError
from numascope.topology import parse_list


@dataclass(frozen=True)
class InterruptLine:
    """One numbered row of /proc/interrupts."""

    irq: int
    per_cpu: tuple[int, ...]
    description: str

    @property
    def total(self) -> int:
        return sum(self.per_cpu)


@dataclass(frozen=True)
class IrqInfo:
    irq: int
    name: str
    handlers: int  # actions on the line: more than one when it is shared
    device_node: int  # -1: unknown
    affinity: tuple[int, ...]
    device: str = ""  # PCI address, when the IRQ belongs to a PCI device


def parse_interrupts(text: str) -> dict[int, InterruptLine]:
    """Numbered rows of /proc/interrupts (LOC, NMI and other named rows are skipped)."""
    lines = text.splitlines()
    if not lines:
        return {}
    cpus = len(lines[0].split())
    out = {}
    for line in lines[1:]:
        head, _, rest = line.partition(":")
        if not head.strip().isdigit():
            continue
        parts = rest.split()
        counts = []
        for p in parts[:cpus]:
            if not p.isdigit():
                break
            counts.append(int(p))
        irq = int(head)
        out[irq] = InterruptLine(irq, tuple(counts), " ".join(parts[len(counts) :]))
    return out


def read_interrupts(proc: Path = Path("/proc")) -> dict[int, InterruptLine]:
    try:
        return parse_interrupts((proc / "interrupts").read_text())
    except OSError:
        return {}


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def pci_irq_devices(sysfs: Path = Path("/sys")) -> dict[int, Path]:
    """IRQ number -> the PCI device folder it belongs to."""
    out: dict[int, Path] = {}
    devices = sysfs / "bus/pci/devices"
    try:
        names = sorted(os.listdir(devices))
    except OSError:
        return out
    for name in names:
        dev = devices / name
        legacy = _read(dev / "irq")
        if legacy and legacy.isdigit() and int(legacy) > 0:
            out.setdefault(int(legacy), dev)
        try:
            vectors = os.listdir(dev / "msi_irqs")
        except OSError:
            continue
        for v in vectors:
            if v.isdigit():
                out[int(v)] = dev  # an MSI vector is the device's alone
    return out


def read_irq_info(
    irq: int,
    *,
    proc: Path = Path("/proc"),
    sysfs: Path = Path("/sys"),
    pci: dict[int, Path] | None = None,
    description: str = "",
) -> IrqInfo:
    """Everything known about one IRQ; missing files give unknowns, not errors."""
    actions = _read(sysfs / "kernel/irq" / str(irq) / "actions") or ""
    handlers = [a for a in actions.split(",") if a]
    name = ",".join(handlers) or (description.split()[-1] if description else f"irq{irq}")
    affinity_text = _read(proc / "irq" / str(irq) / "smp_affinity_list") or ""
    try:
        affinity = parse_list(affinity_text) if affinity_text else ()
    except NumascopeError:
        affinity = ()
    device = (pci or {}).get(irq)
    node_text = _read(device / "numa_node") if device else _read(proc / "irq" / str(irq) / "node")
    try:
        node = int(node_text) if node_text is not None else -1
    except ValueError:
        node = -1
    return IrqInfo(
        irq=irq,
        name=name,
        handlers=max(len(handlers), 1),
        device_node=node,
        affinity=affinity,
        device=device.name if device else "",
    )
