"""`numascope export`: serve the latest snapshot as Prometheus metrics."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import logging
import signal
import threading
from types import FrameType
from typing import Any

from numascope.capture.replay import open_replay
from numascope.commands.log_options import add_log_options
from numascope.commands.privilege_options import add_privilege_options, drop_after_attach
from numascope.commands.source_options import add_source_options, open_source
from numascope.config import PolicyHolder
from numascope.errors import NumascopeError
from numascope.exporters.prometheus import (
    DEFAULT_MAX_REQUESTS,
    BudgetedCounters,
    MetricsServer,
    Poller,
    ScrapeState,
    WebConfig,
    exporter_registry,
    load_web_config,
    parse_listen_address,
)
from numascope.logs import configure_logging
from numascope.pipeline.pacer import Pacer
from numascope.pipeline.policy_step import PolicyStep
from numascope.pipeline.poller import PacedPoller
from numascope.revision import revision
from numascope.snapshot.source import SnapshotSource

LOG = logging.getLogger("numascope.export")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="serve NUMA locality, policy findings and numascope's health to Prometheus",
        description="Serve /metrics for Prometheus. The default port, 9477, keeps clear of "
        "node_exporter (9100) and ebpf_exporter (9435).",
    )
    parser.add_argument(
        "--web.listen-address",
        dest="listen_address",
        metavar="HOST:PORT",
        help="where to listen (default: the config's prometheus.listen-address, "
        "127.0.0.1:9477); loopback unless TLS and basic auth are set up",
    )
    parser.add_argument(
        "--web.telemetry-path",
        dest="telemetry_path",
        metavar="PATH",
        help="path of the metrics (default: the config's, /metrics)",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="FILE",
        help="TLS and basic auth, in the format of Prometheus' exporter-toolkit; "
        "re-read with the certificates on SIGHUP",
    )
    parser.add_argument(
        "--web.max-requests",
        dest="max_requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        metavar="N",
        help=f"requests served at once; more get 503 (default {DEFAULT_MAX_REQUESTS}, 0: no limit)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="placement policy (YAML); re-read when the file changes (a ConfigMap update "
        "too) or on SIGHUP, keeping the previous policy if the new one is bad",
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls (default 1)"
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        help="serve a capture (numascope capture) or a recorded snapshot stream "
        "(numascope snapshot --json) instead of the "
        "kernel; needs no root",
    )
    add_source_options(parser)
    add_privilege_options(parser)
    add_log_options(parser)
    parser.set_defaults(func=run)


def policy_step_for(args: argparse.Namespace, holder: PolicyHolder) -> PolicyStep:
    """The policy step for `args`: a replayed capture already carries the findings
    of its day; it is judged again only when a policy is named, and then without
    reading this host's /proc."""
    if args.replay:
        return PolicyStep(holder, proc=None, rejudge=bool(args.config))
    return PolicyStep(holder, proc="/proc")


def _reload_web_config(path: str, server: MetricsServer) -> None:
    try:
        server.use_web_config(load_web_config(path))
    except NumascopeError as exc:
        LOG.error("kept the old web config: %s", exc)
    else:
        LOG.info("web config reloaded")


# glibc's mallopt() parameter for the most malloc arenas a process may have.
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas; False where that is not possible (not glibc).

    The metrics server answers each scrape on a thread of its own, and glibc gives
    threads arenas of their own (up to 8 per core): in the soak, scraped 10 times a
    second, the exporter's RSS jumped by 50 MiB after minutes of standing still
    while the Python heap (tracemalloc) stayed flat. With two arenas it stays flat.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False


def served_url(address: str, port: int, tls: bool) -> str:
    """scheme://host:port as bound: with port 0 in the address, the port the kernel chose."""
    host, _ = parse_listen_address(address)
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; errors are logged (with their priority) and end it."""
    configure_logging(args.log_level, args.log_format)
    try:
        return serve(args)
    except NumascopeError as exc:
        LOG.error("%s", exc)
        return exc.exit_code


def serve(args: argparse.Namespace) -> int:
    limit_malloc_arenas()  # before any thread starts
    if args.interval <= 0:
        raise NumascopeError("--interval: must be more than 0 seconds")
    holder = PolicyHolder.open(args.config)
    settings = holder.config.prometheus
    web = load_web_config(args.web_config) if args.web_config else WebConfig()
    source: SnapshotSource = (
        open_replay(args.replay) if args.replay else open_source(args, holder.config.probes)
    )
    counters = BudgetedCounters()
    poller = Poller(
        PacedPoller(source, Pacer(args.interval), policy_step_for(args, holder)),
        after_poll=lambda snap: counters.advance(snap, holder.config.prometheus.workload_limit),
    )

    running = revision()  # read once: .git is not read at every scrape

    def state() -> ScrapeState:
        polls, errors = poller.counts
        return ScrapeState(poller.latest, holder.config, polls, errors, running)

    registry = exporter_registry(state, counters)
    address = args.listen_address or settings.listen_address
    try:
        server = MetricsServer(
            registry,
            address,
            args.telemetry_path or settings.telemetry_path,
            web,
            args.max_requests,
        )
    except NumascopeError:
        source.close()
        raise
    stop = threading.Event()
    hangup = threading.Event()
    wake = threading.Event()  # the main thread sleeps on this one until a signal

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()
        wake.set()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        holder.request_reload()  # read by the poller before its next poll
        hangup.set()
        wake.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    # A ConfigMap update swaps a symlink and sends no signal: notice the file change.
    holder.watch_file()
    try:
        # Before any thread starts: capabilities are set per thread.
        drop_after_attach(args, "export", announce=LOG.info)
    except NumascopeError:
        server.close()
        source.close()
        raise
    poller.start()
    server.start()
    LOG.info(
        "serving %s%s",
        served_url(address, server.port, web.tls),
        args.telemetry_path or settings.telemetry_path,
    )
    try:
        while not stop.is_set():
            wake.wait()
            wake.clear()
            if hangup.is_set() and not stop.is_set():
                hangup.clear()
                if args.web_config:
                    _reload_web_config(args.web_config, server)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        poller.stop()
        source.close()
    return 0
