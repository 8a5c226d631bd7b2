"""The generated pfn -> node C function, compiled with the host's C compiler."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from numascope.probes.page_alloc import page_node_function
from numascope.topology import Topology, read_topology
from tests.conftest import require

SYSFS = Path(__file__).parent.parent / "fixtures" / "sysfs"

HARNESS = """
#include <stdio.h>
#include <stdlib.h>
typedef unsigned int u32;
typedef unsigned long long u64;
#define __always_inline inline
%s
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        printf("%%u\\n", page_node_slot(strtoull(argv[i], 0, 10)));
    return 0;
}
"""


def slots_from_c(topo: Topology, pfns: list[int], tmp_path: Path) -> list[int]:
    cc = shutil.which("cc") or shutil.which("gcc")
    require(cc is not None, "needs a C compiler to check the generated C")
    assert cc is not None
    source = tmp_path / "harness.c"
    source.write_text(HARNESS % page_node_function(topo))
    binary = tmp_path / "harness"
    subprocess.run([cc, "-O1", "-o", str(binary), str(source)], check=True)
    out = subprocess.run([str(binary), *map(str, pfns)], capture_output=True, text=True, check=True)
    return [int(line) for line in out.stdout.split()]


@pytest.mark.parametrize("fixture", ["one-node", "two-node", "four-node", "cpuless"])
def test_generated_lookup_matches_the_topology(fixture: str, tmp_path: Path) -> None:
    topo = read_topology(SYSFS / fixture)
    unknown = len(topo.node_ids)
    pfns = sorted(
        {p for r in topo.pfn_ranges for p in (r.start, r.end - 1, (r.start + r.end) // 2)}
    )
    last_end = max(r.end for r in topo.pfn_ranges)
    pfns += [last_end, last_end + 12345]
    got = slots_from_c(topo, pfns, tmp_path)
    expected = []
    for pfn in pfns:
        node = topo.node_of_pfn(pfn)
        expected.append(unknown if node is None else topo.node_ids.index(node))
    assert got == expected
