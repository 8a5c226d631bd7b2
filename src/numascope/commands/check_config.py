"""`numascope check-config FILE`: validate a config against the schema and this host."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from numascope.config import ConfigError, read_config_file
from numascope.config.checks import check_document
from numascope.config.schema import config_json_schema_text
from numascope.topology import read_topology


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate a placement config file against the schema and the live topology",
    )
    parser.add_argument("file", nargs="?", help="the YAML config file to check")
    parser.add_argument("--sysfs", default="/sys", help="sysfs root to read (default: /sys)")
    parser.add_argument(
        "--no-topology", action="store_true", help="skip the checks against this host's nodes"
    )
    parser.add_argument(
        "--schema", action="store_true", help="print the config's JSON Schema and exit"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.schema:
        sys.stdout.write(config_json_schema_text())
        return 0
    if not args.file:
        print("numascope check-config: give a FILE to check (or --schema)", file=sys.stderr)
        return 2
    try:
        doc = read_config_file(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    topology = None if args.no_topology else read_topology(args.sysfs)
    problems = check_document(doc, topology)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{args.file}: ok ({len(doc.config.rules)} rules)")
    return 0
