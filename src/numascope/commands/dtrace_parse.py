"""`numascope dtrace-parse`: recorded FreeBSD DTrace output into a snapshot stream."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from numascope.collectors.freebsd.snapshots import snapshots_from_dtrace
from numascope.errors import NumascopeError
from numascope.snapshot.codec import snapshot_to_json
from numascope.topology_freebsd import parse_sysctl_dump, read_freebsd_topology


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dtrace-parse",
        help="turn recorded output of numascope's D scripts into JSON-lines snapshots",
    )
    parser.add_argument("file", type=Path, help="recorded dtrace output")
    parser.add_argument(
        "--sysctl",
        type=Path,
        required=True,
        metavar="FILE",
        help="recorded `sysctl vm.ndomains vm.phys_segs hw.pagesize dev` output",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sysctl_text = args.sysctl.read_text()
        lines = args.file.read_text().splitlines()
    except OSError as exc:
        raise NumascopeError(f"{exc.filename}: {exc.strerror}") from None
    topo = read_freebsd_topology(parse_sysctl_dump(sysctl_text, str(args.sysctl)))
    # Snapshots are printed as they are built, so an error later in the file
    # keeps everything before it.
    for snapshot in snapshots_from_dtrace(lines, topo, source=str(args.file)):
        print(snapshot_to_json(snapshot), flush=True)
    return 0
