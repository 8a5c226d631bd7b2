"""`--log.level` and `--log.format`, as node_exporter spells them, for service commands."""

from __future__ import annotations

import argparse

from numascope.logs import FORMATS, LEVELS


def add_log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log.level",
        dest="log_level",
        choices=tuple(LEVELS),
        default="info",
        help="only log messages of this level or above (default info)",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        choices=FORMATS,
        default="logfmt",
        help="log line format (default logfmt); under systemd each line also starts "
        "with its journald priority (<3> error .. <7> debug)",
    )
