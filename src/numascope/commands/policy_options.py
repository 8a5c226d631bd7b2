"""The `--config` option and the policy engine, as every live command uses them."""

from __future__ import annotations

import argparse
import sys

from numascope.config import DEFAULT_CONFIG_PATH, PolicyHolder
from numascope.pipeline.policy_step import Judged, PolicyStep


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


def open_policy(args: argparse.Namespace, *, replay: bool = False) -> PolicyStep:
    """The policy step for `args.config`; a bad file raises ConfigError (one located line).

    `replay=True` (judging a capture) skips procfs: the recorded pids are gone.
    """
    step = PolicyStep(PolicyHolder.open(args.config), proc=None if replay else args.proc)
    step.holder.install_sighup()
    return step


def say_notes(judged: Judged) -> Judged:
    """Print the policy step's notes (how a reload went) on stderr; return `judged`."""
    for note in judged.notes:
        print(f"numascope: {note}", file=sys.stderr, flush=True)
    return judged
