"""Naming owners: which workload an owner key is, and what that workload is called.

A live process is named by its leader, as ps and top name it, read from
/proc once per new owner and comm (and again when it may have renamed
itself); an interrupt by its number and the actions sysfs lists; a process
gone before it could be asked, by the allocating thread's name the kernel
recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from numascope.collectors.names import decode_comm, process_stat, softirq_name
from numascope.collectors.owner_table import (
    CTX_EXITED,
    CTX_HARDIRQ,
    CTX_OVERFLOW,
    CTX_SOFTIRQ,
    OwnerKey,
)
from numascope.snapshot.model import WorkloadKind


@dataclass(frozen=True)
class Identity:
    """Who a workload is: its key, kind, name and pid (None: no process)."""

    key: str
    kind: WorkloadKind
    name: str
    pid: int | None


class OwnerNames:
    """Identities by (owner, comm), kernel-thread flags and renamed leaders by pid."""

    def __init__(self, *, proc: Path = Path("/proc"), sysfs: Path = Path("/sys")) -> None:
        self.proc = proc
        self.sysfs = sysfs
        self._identities: dict[tuple[OwnerKey, bytes], Identity] = {}
        self._kthread: dict[int, bool] = {}
        # A leader's name read again after its first naming (prctl, a write to
        # /proc/PID/comm), by pid.
        self.leader_names: dict[int, str] = {}

    def identify(self, owner: OwnerKey, comm: bytes) -> Identity:
        found = self._identities.get((owner, comm))
        if found is not None:
            return found
        identity = self._identify_fresh(owner, comm)
        # Kept with the name: a vanished pid reused by another program (another
        # name) is asked about again, and exited processes cost no /proc read.
        if len(self._identities) > 1 << 16:
            self._identities.clear()
        self._identities[(owner, comm)] = identity
        return identity

    def _identify_fresh(self, owner: OwnerKey, comm: bytes) -> Identity:
        kind = owner.kind
        if kind == CTX_HARDIRQ:
            irq = owner.context_id
            return Identity(f"irq:{irq}", WorkloadKind.HARDIRQ, self._irq_name(irq), None)
        if kind == CTX_SOFTIRQ:
            name = softirq_name(owner.context_id)
            return Identity(f"softirq:{name}", WorkloadKind.SOFTIRQ, f"[softirq:{name}]", None)
        if kind == CTX_OVERFLOW:
            return Identity("other", WorkloadKind.OTHER, "[other: owner map full]", None)
        if kind == CTX_EXITED:
            return Identity("exited", WorkloadKind.OTHER, "[exited processes]", None)
        pid = owner.tgid
        # The comm the program saw is the allocating thread's (a JVM's "GC
        # Thread#0", a thread renamed by prctl): a live process is named by its
        # leader, as ps and top name it, read once per new owner and comm.
        found = None if pid == 0 else process_stat(pid, proc=self.proc)
        if found is not None:
            self._kthread[pid] = found.kernel_thread
            kthread, name = found.kernel_thread, decode_comm(found.name)
            self.leader_names.pop(pid, None)  # this read is the newest
        else:  # the idle task, or gone: the program's name is all there is
            kthread, name = pid == 0 or self._kthread.get(pid, False), decode_comm(comm)
        kind_name = WorkloadKind.KTHREAD if kthread else WorkloadKind.PROCESS
        return Identity(f"pid:{pid}", kind_name, name or "?", pid)

    def read_leader_name(self, identity: Identity) -> None:
        """Read a live process's name again (a dead one's pid may name another)."""
        pid = identity.pid
        if identity.kind is not WorkloadKind.PROCESS or not pid:
            return
        found = process_stat(pid, proc=self.proc)
        if found is None:
            return
        name = decode_comm(found.name)
        if name != identity.name:
            self.leader_names[pid] = name
        else:
            self.leader_names.pop(pid, None)

    def _irq_name(self, irq: int) -> str:
        try:
            actions = (self.sysfs / "kernel/irq" / str(irq) / "actions").read_text().strip()
        except OSError:
            actions = ""
        return f"[irq:{irq} {actions}]" if actions else f"[irq:{irq}]"

    def forget_pids(self, pids: set[int]) -> None:
        """Drop what is remembered about these pids: each now names a new process."""
        for pid in pids:
            self._kthread.pop(pid, None)
            self.leader_names.pop(pid, None)
        for cached in [k for k in self._identities if k[0].tgid in pids]:
            del self._identities[cached]
