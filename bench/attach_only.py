"""Attach numascope's default probe families and wait for SIGINT, polling nothing.

The "probes alone" row of bench/as_run.py: what the programs cost a workload by
themselves, with the kernel's BPF statistics off, next to the commands as run.
"""

from __future__ import annotations

import signal
import sys

from numascope.collectors.live import open_live_source


def main() -> int:
    source = open_live_source(measure_overhead=False)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        source.close()
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
