"""FreeBSD: UMA zones, the page daemon's scanned and freed pages, the laundry and
the domainset policy, from recorded printa output into the snapshot and on
through `top --replay`, `export --replay` and `report`."""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from numascope.collectors.freebsd.domainset import policy_word
from numascope.collectors.freebsd.dtrace_output import DtraceOutputError, parse_intervals
from numascope.collectors.freebsd.snapshots import snapshots_from_dtrace
from numascope.collectors.freebsd.uma import UmaZones
from numascope.commands import report
from numascope.snapshot.codec import snapshot_from_json, snapshot_to_json
from numascope.snapshot.model import Snapshot
from numascope.topology_freebsd import FreebsdTopology, parse_sysctl_dump, read_freebsd_topology
from tests.fixtures.streams import write_stream
from tests.tui.conftest import played, replay_app, screen_text, until

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DTRACE = FIXTURES / "dtrace"
SYSCTL = FIXTURES / "freebsd" / "sysctl-2domain.txt"


def topo() -> FreebsdTopology:
    return read_freebsd_topology(parse_sysctl_dump(SYSCTL.read_text()))


def lines(name: str) -> list[str]:
    return (DTRACE / name).read_text().splitlines()


def snapshots() -> list[Snapshot]:
    return list(snapshots_from_dtrace(lines("uma-reclaim.txt"), topo()))


def test_uma_and_pagedaemon_records_are_parsed() -> None:
    first, second = parse_intervals(lines("uma-reclaim.txt"))
    uma = first.table("uma")
    assert uma[(0, -1, "mbuf")] == 9000
    assert uma[(1, 1, "256 Bucket")] == 700  # a zone name with a space, kept whole
    assert first.table("pdtarget") == {(1,): 5000}
    assert first.table("pdfreed") == {(1,): 4100}
    assert second.table("uma") == {(0, -1, "mbuf"): 1000}


def test_truncated_uma_stream_keeps_the_complete_interval() -> None:
    got = []
    with pytest.raises(DtraceOutputError, match=r"^uma-truncated\.txt:19: .*line 17 \(truncated\)"):
        for interval in parse_intervals(lines("uma-truncated.txt"), "uma-truncated.txt"):
            got.append(interval)
    assert [i.table("uma")[(0, -1, "mbuf")] for i in got] == [9000]


def test_malformed_uma_line_is_named_and_earlier_intervals_are_kept() -> None:
    got = []
    with pytest.raises(
        DtraceOutputError, match=r"^uma-malformed\.txt:20: 'uma' line .*not a number"
    ):
        for interval in parse_intervals(lines("uma-malformed.txt"), "uma-malformed.txt"):
            got.append(interval)
    assert len(got) == 1


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("uma 0 -1 5", "too few fields"),
        ("pdfreed 1", "too few fields"),
        ("pdtarget 1 2 3", "extra fields"),
        ("pdfreed x 2", "not a number"),
    ],
)
def test_bad_new_records(record: str, message: str) -> None:
    text = f"numascope begin 5\n{record}\nnumascope end\n"
    with pytest.raises(DtraceOutputError, match=f"^dtrace:2: .*{message}"):
        list(parse_intervals(text.splitlines()))


def test_uma_zones_are_slab_caches_by_cpu_domain_and_requested_domain() -> None:
    first, second = snapshots()
    assert first.allocator is not None
    caches = {(c.cache, c.cpu_node): c for c in first.allocator.slab_caches}
    mbuf0 = caches[("mbuf", 0)]
    assert mbuf0.objects.total == 9000 and mbuf0.any_node.total == 9000
    bucket0, bucket1 = caches[("256 Bucket", 0)], caches[("256 Bucket", 1)]
    assert bucket0.remote_requested.total == 300 and bucket0.remote_share == 1.0
    assert bucket1.local_requested.total == 700 and bucket1.remote_share == 0.0
    assert second.allocator is not None
    later = {(c.cache, c.cpu_node): c for c in second.allocator.slab_caches}
    assert later[("mbuf", 0)].objects.total == 10000 and later[("mbuf", 0)].objects.delta == 1000
    assert later[("mbuf", 1)].objects.delta == 0  # kept, with its total, while idle


def test_only_the_busiest_zones_are_kept() -> None:
    zones = UmaZones(limit=2)
    kept = zones.update({(0, -1, "a"): 5, (0, -1, "b"): 50, (0, -1, "c"): 500})
    assert [c.cache for c in kept] == ["c", "b"]


def test_pagedaemon_scanned_freed_and_laundered_pages_are_reclaim_figures() -> None:
    first, second = snapshots()
    node1 = first.reclaim[1]
    assert node1.pages_scanned.delta == 5000 and node1.pages_reclaimed.delta == 4100
    assert node1.laundered_pages.delta == 32
    later = second.reclaim[1]
    assert later.pages_scanned.total == 6000 and later.pages_reclaimed.total == 5000
    assert later.laundered_pages.total == 40 and later.laundered_pages.delta == 8
    assert first.reclaim[0].pages_scanned.total == 0


@pytest.mark.parametrize(
    ("ds_policy", "word"),
    [(1, "interleave"), (2, "local"), (3, "prefer"), (4, "interleave"), (0, ""), (9, "")],
)
def test_domainset_policies_in_numa_maps_words(ds_policy: int, word: str) -> None:
    assert policy_word(ds_policy) == word


def test_workload_shows_the_policy_most_of_its_pages_had() -> None:
    first, _ = snapshots()
    memcached = first.process("pid:4321")
    assert memcached is not None and memcached.mempolicy == "prefer"  # 200 prefer, 10 first-touch


def test_new_fields_survive_the_json_codec() -> None:
    first, _ = snapshots()
    back = snapshot_from_json(snapshot_to_json(first))
    assert back == first


def replayed(tmp_path: Path) -> Path:
    return write_stream(tmp_path / "freebsd.jsonl", snapshots())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape_until(url: str, needle: str, process: subprocess.Popen[str]) -> str:
    """The metrics page once it holds `needle` (the replay has reached the end)."""
    for _ in range(200):
        if process.poll() is not None:
            pytest.fail(f"numascope export exited: {process.communicate()[1]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = str(response.read().decode())
        except OSError:
            text = ""
        if needle in text:
            return text
        time.sleep(0.05)
    pytest.fail(f"{url} never showed {needle}")


def test_export_replay_exposes_uma_zones_and_pagedaemon_figures(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "numascope", "export", "--replay", str(replayed(tmp_path))]
    argv += ["--interval", "0.05", "--web.listen-address", address]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        try:
            text = scrape_until(
                f"http://{address}/metrics",
                'numascope_reclaim_scanned_pages_total{node="1"} 6000',
                p,
            )
        finally:
            p.terminate()
            p.communicate(timeout=10)
    # A zone's series counts from the first poll on (what mbuf added in the
    # second); the all-caches counter holds the running totals.
    assert 'numascope_slab_objects_total{cache="mbuf",cpu_node="0",requested="any"} 1000.0' in text
    assert 'cache="256 Bucket",cpu_node="0",requested="remote"} 0.0' in text
    all_caches = "numascope_slab_objects_all_caches_total"
    assert f'{all_caches}{{cpu_node="0",requested="any"}} 10050.0' in text
    assert f'{all_caches}{{cpu_node="0",requested="remote"}} 300.0' in text
    assert 'numascope_reclaim_reclaimed_pages_total{node="1"} 5000.0' in text
    assert 'numascope_laundered_pages_total{node="1"} 40.0' in text


def test_report_shows_uma_zones_and_pagedaemon_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(file=str(replayed(tmp_path)), html=False, output=None)
    assert report.run(args) == 0
    text = capsys.readouterr().out
    assert "256 Bucket" in text and "mbuf" in text
    assert "6,000" in text and "5,000" in text  # scanned and freed on domain 1


def test_top_replay_shows_policy_zones_and_pagedaemon(tmp_path: Path) -> None:
    async def drive() -> tuple[str, str, str]:
        app = replay_app(tmp_path, snapshots())
        async with app.run_test(size=(160, 50)) as pilot:
            await played(pilot)
            workloads = screen_text(app)
            await pilot.press("a")
            await until(pilot, lambda: "256 Bucket" in screen_text(app), "allocator tab")
            allocator = screen_text(app)
            await pilot.press("r")
            await until(pilot, lambda: "SCAN/s" in screen_text(app), "reclaim tab")
            return workloads, allocator, screen_text(app)

    workloads, allocator, reclaim = asyncio.run(drive())
    memcached = next(line for line in workloads.splitlines() if "memcached" in line)
    assert "prefer" in memcached
    assert "mbuf" in allocator
    # FreeBSD's names: UMA zones, one page daemon per domain and its laundry.
    assert "UMA zones" in allocator and "Slab caches" not in allocator
    assert "PAGEDAEMON" in reclaim and "LAUNDER/s" in reclaim
    # the last interval on domain 1: 1,000 pages aimed at, 900 freed, 8 laundered, over
    # one second
    rows = [line.split() for line in reclaim.splitlines()]
    assert any(r[:1] == ["1"] and r[3:6] == ["1.0k", "900", "8"] for r in rows), reclaim
