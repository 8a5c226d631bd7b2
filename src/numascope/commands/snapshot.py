"""`numascope snapshot`: per-node locality and the top workloads, every interval."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from numascope.collectors.families import DEFAULT_FAMILIES, FAMILY_NAMES, parse_probe_list
from numascope.collectors.live import (
    KernelCounterSource,
    SnapshotSource,
    open_live_source,
)
from numascope.commands.policy_options import add_config_option, judge, open_policy
from numascope.commands.privilege_options import add_privilege_options, drop_after_attach
from numascope.errors import NumascopeError
from numascope.exporters.text.render import render
from numascope.pipeline.pacer import Pacer
from numascope.probes.page_alloc import DEFAULT_MAX_OWNERS
from numascope.snapshot.codec import snapshot_to_json
from numascope.topology import read_topology


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """Options every live command shares."""
    parser.add_argument(
        "--source",
        choices=("auto", "bpf", "kernel"),
        default="auto",
        help="bpf: attribute with the BPF probes (root); kernel: the kernel's numastat "
        "counters only; auto: bpf when privileged, else kernel (default)",
    )
    parser.add_argument(
        "--max-owners",
        type=int,
        default=DEFAULT_MAX_OWNERS,
        help=f"owner entries per BPF map buffer (default {DEFAULT_MAX_OWNERS}); "
        "owners beyond it are counted under 'other'",
    )
    parser.add_argument(
        "--kernel-headers",
        metavar="DIR",
        help="kernel header tree for compiling the probes "
        "(default: the running kernel's, else the newest installed; "
        "env NUMASCOPE_KERNEL_HEADERS)",
    )
    parser.add_argument(
        "--no-self-cost",
        dest="self_cost",
        action="store_false",
        help="do not measure the probes' own cost: that switches on the kernel's BPF "
        "run-time statistics, which then time every BPF program on the host (see "
        "BENCHMARKS.md for what that costs)",
    )
    parser.add_argument(
        "--probes",
        metavar="LIST",
        help=f"probe families to attach, comma-separated, from {','.join(FAMILY_NAMES)} "
        f"(default: the config's `probes`, else {','.join(DEFAULT_FAMILIES)})",
    )


def open_source(
    args: argparse.Namespace, config_probes: Sequence[str] | None = None
) -> SnapshotSource:
    """The snapshot source the options ask for, explaining any fallback on stderr.

    Probe families: `--probes` when given, else `config_probes`, else the defaults."""
    if sys.platform.startswith("freebsd"):
        # FreeBSD: the DTrace backend (numascope.collectors.freebsd), same snapshots.
        from numascope.collectors.freebsd.live import open_dtrace_source

        return open_dtrace_source(max(1, round(getattr(args, "interval", 1.0))))
    if args.source == "kernel":
        return KernelCounterSource(read_topology())
    cli_probes = getattr(args, "probes", None)
    default = tuple(config_probes or DEFAULT_FAMILIES)
    probes = parse_probe_list(cli_probes) if cli_probes else default
    try:
        source = open_live_source(
            max_owners=args.max_owners,
            headers=args.kernel_headers,
            probes=probes,
            measure_overhead=args.self_cost,
        )
    except NumascopeError as exc:
        if args.source == "bpf":
            raise
        print(f"numascope: {exc}", file=sys.stderr)
        print("numascope: showing the kernel's own per-node counters instead", file=sys.stderr)
        return KernelCounterSource(read_topology(), reason=str(exc))
    freeze_start_up()
    return source


def freeze_start_up() -> None:
    """Keep what start-up made (bcc's tables and programs, the modules: tens of
    thousands of objects that live as long as the process) out of the garbage
    collector's sight: a full collection, which would walk them all (15 ms, in
    one poll of about fifteen at 10,000 processes), walks only what came since."""
    gc.freeze()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "snapshot", help="print per-node locality and the top workloads every interval"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument(
        "--count", type=int, default=0, help="snapshots to print (default: until Ctrl-C)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--top", type=int, default=10, help="workloads to list (default 10)")
    add_source_options(parser)
    add_config_option(parser)
    add_privilege_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise NumascopeError("--interval: must be more than 0 seconds")
    if args.max_owners < 1:
        raise NumascopeError("--max-owners: must be at least 1")
    engine = open_policy(args)  # a bad config fails before the probes compile
    source = open_source(args, engine.holder.config.probes)
    printed = 0
    pacer = Pacer(args.interval)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.count == 0:  # runs until stopped: no need for root from here on
            drop_after_attach(args, "snapshot")
        while args.count == 0 or printed < args.count:
            pacer.wait()
            snapshot = judge(engine, source.poll())
            if pacer.overruns:
                health = dataclasses.replace(snapshot.health, poll_overruns=pacer.overruns)
                snapshot = dataclasses.replace(snapshot, health=health)
            if args.json:
                print(snapshot_to_json(snapshot), flush=True)
            else:
                print(render(snapshot, top=args.top) + "\n", flush=True)
            printed += 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        source.close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the loop as Ctrl-C does, so the probes are detached on the way out.
    raise KeyboardInterrupt
