"""`numascope top`: the live terminal UI, or a replay of a recorded stream."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from numascope.capture.replay import open_replay
from numascope.collectors.kernel_source import KernelCounterSource
from numascope.collectors.mempolicy import read_process_policy
from numascope.commands.privilege_options import add_privilege_options, drop_after_attach
from numascope.commands.source_options import add_source_options, open_source
from numascope.config import PolicyHolder
from numascope.errors import NumascopeError
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.source import SnapshotSource


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "top", help="live terminal UI: which workloads get memory from the wrong node, and why"
    )
    parser.add_argument(
        "--interval",
        type=float,
        help="seconds between refreshes (default: tui.refresh-seconds in the config, else 1)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="placement policy (default /etc/numascope/config.yaml when present); "
        "SIGHUP reloads it while top has its terminal (a hangup ends top)",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="show a capture (numascope capture) or a recorded snapshot stream "
        "(numascope snapshot --json) instead of this host",
    )
    add_source_options(parser)
    add_privilege_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Textual is imported here, not at the top: building the parser (every other
    # command, --help, the man page) must not pay for it (about 0.2 s and 20 MB).
    from numascope.tui.app import TopApp
    from numascope.tui.detail import PolicyReader
    from numascope.tui.feed import ThreadFeed

    if args.interval is not None and args.interval <= 0:
        raise NumascopeError("--interval: must be more than 0 seconds")
    holder = PolicyHolder.open(args.config)
    interval = args.interval or holder.config.tui.refresh_seconds
    notes: tuple[str, ...] = ()
    reader: PolicyReader | None = None
    source: SnapshotSource
    if args.replay:
        source = open_replay(args.replay)
        # A capture keeps the findings judged when it was recorded, unless a policy is given.
        step = PolicyStep(holder, proc=None, rejudge=args.config is not None)
        mode = "replay"
    else:
        source = open_source(args, holder.config.probes)
        step = PolicyStep(holder, proc="/proc")
        reader = functools.partial(read_process_policy, proc="/proc")
        mode = "live"
        if isinstance(source, KernelCounterSource):
            mode = "kernel counters"
            notes = (
                "per-process attribution needs root and the BPF probes; "
                "showing the kernel's per-node numastat counters",
            )
        drop_after_attach(args, "top")  # before the feed and screen threads start
    app = TopApp(
        ThreadFeed(PacedPoller(source, Pacer(interval), step)),
        interval=interval,
        mode=mode,
        policy=str(holder.path) if holder.path else "built-in default",
        thresholds=holder.config.thresholds,
        policy_reader=reader,
        notes=notes,
        on_reload=holder.request_reload,
    )
    status = app.run()
    return status or 0
