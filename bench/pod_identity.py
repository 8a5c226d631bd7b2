"""What reading a cgroup path into a Kubernetes pod costs, per path.

Runs the parser uncached over every path of the fixture table (systemd and
cgroupfs drivers, containerd, CRI-O, Docker, nested trees, paths of no pod) and
prints the median time per path over several runs, with the fastest and slowest.
The collector reads a path once, when its cgroup is first seen.

    PYTHONPATH=src .venv/bin/python bench/pod_identity.py [--passes 2000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from numascope.collectors.pod_identity import pod_identity

TABLE = Path(__file__).parent.parent / "tests" / "fixtures" / "kubepods" / "cgroup_paths.tsv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    paths = [x.split("\t")[0] for x in lines if x and not x.startswith("#")]
    parse = pod_identity.__wrapped__  # the parser itself, not its cache
    per_path = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for _ in range(args.passes):
            for path in paths:
                parse(path)
        per_path.append((time.perf_counter() - started) / (args.passes * len(paths)) * 1e6)
    print(
        f"{len(paths)} paths, {args.runs} runs of {args.passes} passes: median "
        f"{statistics.median(per_path):.2f} us per path (min {min(per_path):.2f}, "
        f"max {max(per_path):.2f})"
    )


if __name__ == "__main__":
    main()
