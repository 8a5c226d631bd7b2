"""The `numascope` command: one subcommand per module in `numascope.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from numascope import __version__
from numascope.errors import NumascopeError

# Each module defines `register(subparsers)`, which adds its subcommand and sets
# `func` on its parser to a callable taking the parsed arguments and returning
# the exit status. Listed here so `--help` shows them in a sensible order.
COMMAND_MODULES = (
    "top",
    "snapshot",
    "topology",
    "check_config",
    "export",
    "capture",
    "report",
    "dtrace_parse",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numascope",
        description="See which process, cgroup or interrupt gets memory from which NUMA node.",
    )
    parser.add_argument("--version", action="version", version=f"numascope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"numascope.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except NumascopeError as exc:
        print(f"numascope: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `numascope snapshot --json | head` closes the pipe early; that is not an error.
        sys.stderr.close()
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
