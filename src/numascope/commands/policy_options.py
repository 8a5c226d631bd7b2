"""The `--config` option and the policy engine, as every live command uses them."""

from __future__ import annotations

import argparse
import sys

from numascope.config import DEFAULT_CONFIG_PATH, PolicyHolder
from numascope.policy import PolicyEngine
from numascope.snapshot.model import Snapshot


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Add `--config FILE` (and `--proc`, the procfs root read for kernel policies)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"placement policy (default: {DEFAULT_CONFIG_PATH} when present, "
        "else every workload expected local); SIGHUP reloads it",
    )
    parser.add_argument(
        "--proc", default="/proc", help="procfs root for kernel policies (default: /proc)"
    )


def open_policy(args: argparse.Namespace, *, live: bool = True) -> PolicyEngine:
    """The engine for `args.config`; a bad file raises ConfigError (one located line).

    `live=False` (replaying a capture) skips procfs: the recorded pids are gone.
    """
    engine = PolicyEngine(PolicyHolder.open(args.config), proc=args.proc if live else None)
    engine.holder.install_sighup()
    return engine


def judge(engine: PolicyEngine, snapshot: Snapshot) -> Snapshot:
    """Apply a pending SIGHUP reload (saying how it went on stderr), then judge."""
    reloaded, error = engine.holder.reload_if_requested()
    if error is not None:
        print(f"numascope: {error}", file=sys.stderr)
    elif reloaded:
        print(f"numascope: reloaded {engine.holder.path}", file=sys.stderr)
    return engine.judge(snapshot)
