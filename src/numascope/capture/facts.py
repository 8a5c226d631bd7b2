"""Host facts a capture records once: NUMA sysctls, IRQ placement, devices, processes.

Every reader takes its procfs or sysfs root, and a missing file is an absent
fact, never an error: kernels differ in what they expose, and processes exit
while we read them.
"""

from __future__ import annotations

import os
from pathlib import Path

from numascope.capture.model import DeviceFacts, IrqFacts, ProcessFacts
from numascope.collectors.mempolicy import read_process_policy
from numascope.errors import NumascopeError
from numascope.topology import parse_list

# Settings that change where pages come from or how the kernel moves them.
# Names are sysctl names; absent ones (older kernels) are left out.
NUMA_SYSCTLS = (
    "kernel.numa_balancing",
    "kernel.numa_balancing_promote_rate_limit_MBps",
    "vm.zone_reclaim_mode",
    "vm.numa_stat",
    "vm.numa_zonelist_order",
    "vm.min_free_kbytes",
    "vm.watermark_scale_factor",
    "vm.watermark_boost_factor",
    "vm.min_unmapped_ratio",
    "vm.min_slab_ratio",
    "vm.nr_hugepages",
    "vm.nr_overcommit_hugepages",
    "vm.overcommit_memory",
    "vm.swappiness",
    "vm.compaction_proactiveness",
)

# Memory-management switches that live in sysfs rather than /proc/sys.
MM_SYSFS = (
    "kernel/mm/transparent_hugepage/enabled",
    "kernel/mm/transparent_hugepage/defrag",
    "kernel/mm/numa/demotion_enabled",
)


def _text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def read_sysctls(*, proc: Path = Path("/proc"), sysfs: Path = Path("/sys")) -> dict[str, str]:
    """NUMA-relevant sysctls and mm switches that this kernel has."""
    out: dict[str, str] = {}
    for name in NUMA_SYSCTLS:
        value = _text(proc / "sys" / name.replace(".", "/"))
        if value is not None:
            out[name] = " ".join(value.split())
    for rel in MM_SYSFS:
        value = _text(sysfs / rel)
        if value is not None:
            out[rel.removeprefix("kernel/mm/").replace("/", ".")] = value
    return out


def read_kernel_cmdline(proc: Path = Path("/proc")) -> str:
    return _text(proc / "cmdline") or ""


def _list(text: str | None) -> tuple[int, ...]:
    try:
        return parse_list(text or "")
    except NumascopeError:
        return ()


def _interrupt_names(proc: Path) -> dict[int, tuple[str, str]]:
    # /proc/interrupts: "  24:   12   34   PCI-MSI 65536-edge   nvme0q0"; one count per CPU.
    text = _text(proc / "interrupts") or ""
    lines = text.splitlines()
    if not lines:
        return {}
    cpus = len(lines[0].split())
    out: dict[int, tuple[str, str]] = {}
    for line in lines[1:]:
        label, _, rest = line.partition(":")
        if not label.strip().isdigit():
            continue
        words = rest.split()[cpus:]
        out[int(label)] = (words[-1] if words else "", " ".join(words))
    return out


def read_irqs(proc: Path = Path("/proc")) -> tuple[IrqFacts, ...]:
    """Each numbered IRQ with its allowed and effective CPUs and its device's node."""
    names = _interrupt_names(proc)
    try:
        numbers = sorted(int(n) for n in os.listdir(proc / "irq") if n.isdigit())
    except OSError:
        return ()
    out = []
    for irq in numbers:
        base = proc / "irq" / str(irq)
        node_text = _text(base / "node")
        name, description = names.get(irq, ("", ""))
        out.append(
            IrqFacts(
                irq=irq,
                name=name,
                description=description,
                affinity=_list(_text(base / "smp_affinity_list")),
                effective_affinity=_list(_text(base / "effective_affinity_list")),
                node=int(node_text) if node_text and node_text.lstrip("-").isdigit() else -1,
            )
        )
    return tuple(out)


def read_pci_devices(sysfs: Path = Path("/sys")) -> tuple[DeviceFacts, ...]:
    """PCI devices with the node the firmware assigned them."""
    root = sysfs / "bus/pci/devices"
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return ()
    out = []
    for address in entries:
        base = root / address
        node = _text(base / "numa_node")
        try:
            driver = os.path.basename(os.readlink(base / "driver"))
        except OSError:
            driver = ""
        out.append(
            DeviceFacts(
                address=address,
                node=int(node) if node and node.lstrip("-").isdigit() else -1,
                driver=driver,
                device_class=_text(base / "class") or "",
            )
        )
    return tuple(out)


def read_process_facts(
    pid: int, *, proc: Path = Path("/proc"), seq: int = 0
) -> ProcessFacts | None:
    """A process's command line, cgroup, cpuset and numa_maps summary; None if gone."""
    policy = read_process_policy(pid, proc=proc)
    if policy is None:
        return None
    base = proc / str(pid)
    try:
        raw = (base / "cmdline").read_bytes()
        # It names the process: any byte.
        status = (base / "status").read_bytes().decode("utf-8", "backslashreplace")
    except OSError:
        return None
    # The policy read's residence: numa_maps is read (its page tables walked) once.
    resident = policy.residence.by_node()
    cpus = ""
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            cpus = line.partition(":")[2]
    return ProcessFacts(
        pid=pid,
        comm=policy.comm,
        cmdline=tuple(a.decode("utf-8", "backslashreplace") for a in raw.split(b"\0") if a),
        exe=policy.exe,
        user=policy.user,
        cgroup=policy.cgroup,
        cpuset=policy.cpuset,
        cpus_allowed=_list(cpus),
        mems_allowed=policy.mems_allowed,
        dominant_policy=str(policy.dominant),
        regions_by_policy=dict(policy.regions_by_policy),
        bytes_by_policy=dict(policy.bytes_by_policy),
        resident_bytes_by_node=dict(sorted(resident.items())),
        read_at_seq=seq,
    )
