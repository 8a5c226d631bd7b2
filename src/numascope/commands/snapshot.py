"""`numascope snapshot`: per-node locality and the top workloads, every interval."""

from __future__ import annotations

import argparse
import signal
from types import FrameType
from typing import Any

from numascope.commands.policy_options import add_config_option, open_policy, say_notes
from numascope.commands.privilege_options import add_privilege_options, drop_after_attach
from numascope.commands.source_options import add_source_options, open_source
from numascope.errors import NumascopeError
from numascope.exporters.text.render import render
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.poller import PacedPoller
from numascope.snapshot.codec import snapshot_to_json


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
    step = open_policy(args)  # a bad config fails before the probes compile
    polls = PacedPoller(open_source(args, step.holder.config.probes), Pacer(args.interval), step)
    printed = 0
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.count == 0:  # runs until stopped: no need for root from here on
            drop_after_attach(args, "snapshot")
        while args.count == 0 or printed < args.count:
            snapshot = say_notes(polls.next()).snapshot
            if args.json:
                print(snapshot_to_json(snapshot), flush=True)
            else:
                print(render(snapshot, top=args.top) + "\n", flush=True)
            printed += 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        polls.close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the loop as Ctrl-C does, so the probes are detached on the way out.
    raise KeyboardInterrupt
