"""`numascope capture`: record the probes for a while into one file for a bug report."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from numascope import __version__
from numascope.capture.facts import (
    read_irqs,
    read_kernel_cmdline,
    read_pci_devices,
    read_sysctls,
)
from numascope.capture.file import CaptureWriter
from numascope.capture.model import CaptureHeader, CaptureTrailer
from numascope.capture.redact import Redactor
from numascope.capture.workload_facts import TopWorkloadFacts
from numascope.collectors.kernel_counters import read_numastat, read_vmstat
from numascope.commands.capture_progress import Progress
from numascope.commands.policy_options import add_config_option, open_policy, say_notes
from numascope.commands.source_options import add_source_options, open_source
from numascope.errors import NumascopeError
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.model import Snapshot
from numascope.topology import Topology, read_topology

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}


def parse_duration(text: str) -> float:
    """`30s`, `2m`, `1h`, `500ms` or plain seconds, as seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", text)
    if m is None or float(m[1]) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30s, 2m, 1h)")
    return float(m[1]) * _UNITS[m[2]]


def default_output(redact: bool) -> Path:
    host = "redacted" if redact else socket.gethostname() or "host"
    return Path(f"numascope-{host}-{time.strftime('%Y%m%d-%H%M%S')}.capture.gz")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "capture", help="record the probes for a while into one file to attach to a bug report"
    )
    parser.add_argument(
        "--duration",
        type=parse_duration,
        default=30.0,
        help="how long to record: 30s (default), 2m, 1h; Ctrl-C ends it early",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (default: numascope-HOST-TIME.capture.gz here); mode 0600",
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between snapshots (default 1)"
    )
    parser.add_argument(
        "--redact",
        action="store_true",
        help="replace command names, command lines and cgroup paths by stable hashes",
    )
    add_source_options(parser)
    add_config_option(parser)
    parser.set_defaults(func=run)


class StopSignal:
    """SIGINT and SIGTERM end the capture early instead of killing it.

    The handler only writes a byte to a pipe that the main loop waits on: taking
    a lock in a handler (as threading.Event.set does) can deadlock against the
    very thread it interrupted.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self.name: str | None = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.name = signal.Signals(signum).name
        with contextlib.suppress(OSError):
            os.write(self._write, b"x")

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._handler) for sig in signals}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            os.close(self._read)
            os.close(self._write)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True as soon as a signal asked to stop."""
        if self.name is None:
            select.select([self._read], [], [], seconds)
        return self.name is not None


def _numastat(topology: Topology) -> dict[int, dict[str, int]]:
    return {node: read_numastat(node) for node in topology.node_ids}


class CaptureRun:
    """One capture: poll, judge, spool; then the header with facts from both ends."""

    def __init__(self, args: argparse.Namespace, step: PolicyStep, writer: CaptureWriter):
        self.args = args
        self.step = step
        self.writer = writer
        self.redactor = Redactor() if args.redact else None
        self.proc = Path(args.proc)
        self.facts = TopWorkloadFacts(proc=self.proc)
        self.progress = Progress(args.duration)
        self.stop = StopSignal()
        self.last: Snapshot | None = None
        self.findings = 0
        self.reason = "duration"

    def record(self, snapshot: Snapshot) -> None:
        self.facts.observe(snapshot)
        self.last = snapshot
        self.findings += len(snapshot.findings)
        self.writer.add(self.redactor.snapshot(snapshot) if self.redactor else snapshot)

    def run(self) -> int:
        args = self.args
        topology = read_topology()
        with self.stop.installed():
            # The families every command attaches: a capture is often taken on the host
            # that is in trouble, so the opt-in ones (slab, migrate_nodes: hooks on every
            # allocation and free) come only when --probes or the config asks for them.
            source = open_source(args, self.step.holder.config.probes)
            polls = PacedPoller(source, Pacer(args.interval), self.step)
            # Read after the probes are in, so "before" lines up with the first interval.
            before = (_numastat(topology), read_vmstat(), time.time())
            try:
                self.loop(polls)
            finally:
                polls.close()
        header = self._header(topology, before)
        trailer = CaptureTrailer(self.writer.count, time.time(), self.reason)
        size = self.writer.finish(header, trailer)
        self.progress.say(
            f"wrote {args.output} ({self.writer.count} snapshots, {self.findings} findings, "
            f"{size / 1024:.0f} KiB, ended by {self.reason})"
        )
        return 0

    def loop(self, polls: PacedPoller) -> None:
        """Record a judged snapshot at every tick of the pacer until the duration
        is up or a signal stops it. A slow poll is counted as an overrun by the
        pacer and the next waits a whole interval: no catching up in a burst."""
        args = self.args
        clock = polls.pacer.clock
        start = clock()
        deadline = start + args.duration
        self.progress.say(f"recording for {args.duration:g} s into {args.output}")
        while True:
            delay = polls.pacer.delay()
            now = clock()
            tick = now + delay
            if self.stop.wait(max(0.0, min(tick, deadline) - now)):
                break
            self.record(say_notes(polls.poll()).snapshot)
            self.progress.update(clock() - start, self.writer.count, self.findings)
            if tick >= deadline:
                return
        # Stopped early by a signal: keep what the interrupted interval counted.
        self.reason = self.stop.name or "signal"
        self.record(say_notes(polls.poll()).snapshot)
        self.progress.say(f"stopped early after {clock() - start:.1f} s")

    def _header(self, topology: Topology, before: tuple[Any, ...]) -> CaptureHeader:
        numastat_before, vmstat_before, created = before
        holder = self.step.holder
        uname = platform.uname()
        header = CaptureHeader(
            numascope_version=__version__,
            created=created,
            host=socket.gethostname(),
            kernel=uname.release,
            kernel_version=uname.version,
            machine=uname.machine,
            kernel_cmdline=read_kernel_cmdline(),
            source=self.last.source if self.last else "",
            interval=self.args.interval,
            duration_requested=self.args.duration,
            topology=topology,
            sysctls=read_sysctls(),
            numastat_before=numastat_before,
            numastat_after=_numastat(topology),
            vmstat_before=vmstat_before,
            vmstat_after=read_vmstat(),
            policy_path=str(holder.path) if holder.path else None,
            policy=holder.config.model_dump(mode="json", by_alias=True),
            workloads=self.facts.final(self.last),
            irqs=read_irqs(),
            devices=read_pci_devices(),
            notes=self.last.health.notes if self.last else (),
        )
        return self.redactor.header(header) if self.redactor else header


def run(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise NumascopeError("--interval: must be more than 0 seconds")
    if args.max_owners < 1:
        raise NumascopeError("--max-owners: must be at least 1")
    args.output = Path(args.output) if args.output else default_output(args.redact)
    if args.output.is_dir():
        raise NumascopeError(f"cannot write {args.output}: it is a directory")
    step = open_policy(args)  # a bad config fails before anything is written
    writer = CaptureWriter(args.output)  # an unwritable place fails before the probes load
    try:
        return CaptureRun(args, step, writer).run()
    finally:
        writer.abort()
