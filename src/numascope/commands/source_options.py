"""Opening a snapshot source as every live command does: the options, the fallback."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from numascope.collectors.kernel_source import KernelCounterSource
from numascope.collectors.live import open_live_source
from numascope.collectors.probe_families import DEFAULT_FAMILIES, FAMILY_NAMES, parse_probe_list
from numascope.errors import NumascopeError, reason_of
from numascope.probes.page_alloc import DEFAULT_MAX_OWNERS
from numascope.snapshot.source import SnapshotSource
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
        return KernelCounterSource(read_topology(), reason=str(exc), fallback=reason_of(exc))
    freeze_start_up()
    return source


def freeze_start_up() -> None:
    """Keep what start-up made (bcc's tables and programs, the modules: tens of
    thousands of objects that live as long as the process) out of the garbage
    collector's sight: a full collection, which would walk them all (15 ms, in
    one poll of about fifteen at 10,000 processes), walks only what came since."""
    gc.freeze()
