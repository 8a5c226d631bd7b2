"""A live FreeBSD snapshot source: dtrace running the D scripts, parsed as it prints.

The same `poll() -> Snapshot` interface as the Linux LiveSource; each poll
returns the next interval dtrace prints (dtrace keeps its own tick, so the
interval is the script's). Not run on a FreeBSD host by this project's tests:
the parsing and mapping are tested on recorded output, and this class on a
stand-in process that prints recorded output.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from numascope.collectors.freebsd.dtrace_output import parse_intervals
from numascope.collectors.freebsd.snapshots import FreebsdSnapshotBuilder
from numascope.errors import NumascopeError
from numascope.probes import dtrace
from numascope.snapshot.model import Snapshot
from numascope.topology_freebsd import (
    FreebsdTopology,
    parse_sysctl_dump,
    read_freebsd_topology,
)

TOPOLOGY_SYSCTLS = ("vm.ndomains", "vm.phys_segs", "hw.pagesize", "kern.sched.topology_spec", "dev")


def read_live_topology(run: Callable[[Sequence[str]], str] | None = None) -> FreebsdTopology:
    """The running host's topology, from `sysctl` (unknown names are skipped by -i)."""

    def sysctl(argv: Sequence[str]) -> str:
        return subprocess.run(list(argv), capture_output=True, text=True, check=False).stdout

    text = (run or sysctl)(["sysctl", "-i", *TOPOLOGY_SYSCTLS])
    return read_freebsd_topology(parse_sysctl_dump(text, "sysctl"))


@dataclass
class DtraceSource:
    """Snapshots from a running dtrace process's output."""

    topology: FreebsdTopology
    process: subprocess.Popen[str]
    probes_attached: tuple[str, ...] = ()
    probes_missing: dict[str, str] = field(default_factory=dict)
    _snapshots: Iterator[Snapshot] | None = field(default=None, init=False)
    _last: Snapshot | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        stdout: IO[str] | None = self.process.stdout
        if stdout is None:
            raise NumascopeError("dtrace: no output stream")
        builder = FreebsdSnapshotBuilder(
            self.topology,
            probes_attached=self.probes_attached,
            probes_missing=self.probes_missing,
        )
        self._snapshots = (builder.build(i) for i in parse_intervals(stdout, "dtrace"))

    def poll(self) -> Snapshot:
        """The next interval dtrace prints; blocks until it does."""
        assert self._snapshots is not None
        try:
            self._last = next(self._snapshots)
        except StopIteration:
            code = self.process.wait()
            raise NumascopeError(
                f"dtrace exited (status {code}) before the next interval"
            ) from None
        return self._last

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def open_dtrace_source(interval_seconds: int = 1) -> DtraceSource:
    """Check dtrace and root, list the fbt probes present, and start the scripts."""
    binary = dtrace.preflight()
    check = dtrace.check_probes(dtrace=binary)
    topology = read_live_topology()
    process = dtrace.spawn(interval_seconds, binary)
    return DtraceSource(topology, process, check.found, dict(check.missing))
