"""`--user` and `--no-drop-privileges`: long-running commands shed root after attaching."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from numascope.privileges import drop_privileges

DEFAULT_USER = "nobody"


def add_privilege_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        metavar="NAME",
        default=DEFAULT_USER,
        help="once the probes are attached, run on as this user, keeping only "
        f"CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_SYSLOG (default {DEFAULT_USER})",
    )
    parser.add_argument(
        "--no-drop-privileges",
        dest="drop_privileges",
        action="store_false",
        help="stay root after attaching",
    )


def drop_after_attach(
    args: argparse.Namespace, command: str, announce: Callable[[str], None] | None = None
) -> None:
    """Become `--user` when running as root and not told otherwise.

    What happened goes to `announce` (a logger's method) or else to stderr.
    """
    if not getattr(args, "drop_privileges", False) or os.geteuid() != 0:
        return
    dropped = drop_privileges(args.user)
    said = f"probes attached; running on as {dropped.user} (uid {dropped.uid})"
    if announce is not None:
        announce(said)
    else:
        print(f"numascope {command}: {said}", file=sys.stderr, flush=True)
