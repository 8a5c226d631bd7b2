"""FreeBSD backend: parser over recorded printa output, the snapshot mapping,
the sysctl topology reader, and the list of kernel symbols the D scripts name."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest

from numascope.collectors.freebsd.dtrace_output import DtraceOutputError, parse_intervals
from numascope.collectors.freebsd.snapshots import snapshots_from_dtrace
from numascope.commands import dtrace_parse
from numascope.errors import NumascopeError
from numascope.probes import dtrace
from numascope.snapshot.codec import snapshot_from_json
from numascope.topology_freebsd import parse_sysctl_dump, read_freebsd_topology

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DTRACE = FIXTURES / "dtrace"
SYSCTL = FIXTURES / "freebsd" / "sysctl-2domain.txt"


def topo():  # type: ignore[no-untyped-def]
    return read_freebsd_topology(parse_sysctl_dump(SYSCTL.read_text()))


def lines(name: str) -> list[str]:
    return (DTRACE / name).read_text().splitlines()


def test_count_sum_and_quantize_records_are_parsed() -> None:
    first, second = parse_intervals(lines("two-intervals.txt"))
    assert first.time_ns == 1732561663000000000
    assert first.table("alloc")[(1234, 0, 1, 2, "postgres")] == 300
    assert first.table("pages")[(1234, 0, 2, 2, "postgres")] == 164
    assert first.table("pdns")[(1, "inactive")] == 250000000
    assert first.table("irq")[(120, 2, 1, "irq120: nvme0:io0")] == 90
    assert first.table("ithreadns")[(264, -1, 0, "irq264: igb0:rxq0")] == 2000000
    assert first.runs == {2: {1: 400, 64: 1}}  # empty buckets dropped
    assert second.notes == ["dtrace: 12 dynamic variable drops on CPU 3"]


def test_truncated_output_keeps_complete_intervals_and_names_the_line() -> None:
    got = []
    with pytest.raises(DtraceOutputError, match=r"truncated\.txt:33: .*line 31 \(truncated\)"):
        for interval in parse_intervals(lines("truncated.txt"), "truncated.txt"):
            got.append(interval)
    assert len(got) == 1


def test_malformed_line_is_named_and_earlier_intervals_are_kept() -> None:
    got = []
    with pytest.raises(DtraceOutputError, match=r"^malformed\.txt:35: 'irq' line"):
        for interval in parse_intervals(lines("malformed.txt"), "malformed.txt"):
            got.append(interval)
    assert len(got) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alloc 1 2 3 4 5 x\n", "outside an interval"),
        ("numascope begin\n", "without a timestamp"),
        ("numascope begin 5\nbogus 1\nnumascope end\n", "unknown record 'bogus'"),
        ("numascope begin 5\npdwake 1 2 3\nnumascope end\n", "extra fields"),
        ("numascope begin 5\nnumascope begin 6\n", "never ended"),
    ],
)
def test_bad_lines(text: str, message: str) -> None:
    with pytest.raises(DtraceOutputError, match=message):
        list(parse_intervals(text.splitlines()))


def test_sysctl_topology_maps_domains_to_nodes() -> None:
    t = topo()
    assert t.topology.node_ids == (0, 1)
    assert t.topology.node(1).cpus == (2, 3)
    assert t.topology.node(1).mem_total_bytes == 0x80000000
    assert t.topology.node(0).mem_free_bytes == 200000 * 4096
    assert t.seg_domain == {0: 0, 1: 0, 2: 1}
    assert t.device_domain == {"nvme0": 1, "igb0": 0}


def test_sysctl_dump_error_names_the_line() -> None:
    with pytest.raises(NumascopeError, match=r"^d:1: not a 'name: value' line"):
        parse_sysctl_dump("garbage\n", "d")


def test_snapshots_show_domains_as_nodes() -> None:
    first, second = snapshots_from_dtrace(lines("two-intervals.txt"), topo())
    assert first.host.platform == "freebsd"
    assert first.node_ids == (0, 1)
    pg = first.process("pid:1234")
    assert pg is not None and pg.name == "postgres"
    # segment 1 is domain 0 (local to the CPU's domain 0), segment 2 domain 1
    assert pg.total.local_pages == 300 and pg.total.remote_pages == 164
    assert pg.total.pages_by_node == {0: 300, 1: 164}
    node1 = first.nodes[1]
    assert node1.total.pages_by_node == {0: 164, 1: 5}  # keyed by requesting domain
    assert node1.pages_by_order["0"] == 400 and node1.pages_by_order["4-8"] == 64
    kernel = first.process("pid:0")
    assert kernel is not None and kernel.kind.value == "kthread"
    assert first.reclaim[1].kswapd_wakeups.delta == 3
    assert first.reclaim[1].kswapd_awake_seconds.total == pytest.approx(0.3)
    nvme = next(i for i in first.irqs if i.irq == 120)
    assert nvme.device_node == 1 and nvme.affinity == (2,)
    assert nvme.remote_share == pytest.approx(0.1)
    igb = next(i for i in first.irqs if i.irq == 264)
    assert igb.device_node == 0 and igb.affinity == ()
    # the second interval: deltas are this interval, totals keep growing
    pg2 = second.process("pid:1234")
    assert pg2 is not None
    assert pg2.delta.pages == 50 and pg2.total.pages == 514
    assert second.interval == pytest.approx(1.0)
    nvme2 = next(i for i in second.irqs if i.irq == 120)
    assert nvme2.count_by_node[1].total == 120 and nvme2.count_by_node[0].delta == 0
    assert second.reclaim[1].kswapd_wakeups.total == 3


def test_dtrace_parse_command_writes_a_replayable_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["dtrace-parse", str(DTRACE / "two-intervals.txt"), "--sysctl", str(SYSCTL)])
    assert status == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    snap = snapshot_from_json(out[0])
    assert snap.source == "dtrace" and snap.node_ids == (0, 1)


def test_dtrace_parse_command_keeps_snapshots_before_a_bad_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["dtrace-parse", str(DTRACE / "malformed.txt"), "--sysctl", str(SYSCTL)])
    captured = capsys.readouterr()
    assert status == 2
    assert len(captured.out.splitlines()) == 1
    assert "malformed.txt:35:" in captured.err and captured.err.count("\n") == 1


def main(argv: list[str]) -> int:
    """The subcommand alone (the full CLI imports every other command too)."""
    parser = argparse.ArgumentParser()
    dtrace_parse.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NumascopeError as exc:
        import sys

        print(f"numascope: {exc}", file=sys.stderr)
        return exc.exit_code


SYMBOLS = FIXTURES / "freebsd14_symbols.txt"


def recorded_symbols() -> dict[str, str]:
    out = {}
    for line in SYMBOLS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        kind, name, path, commit, text = (f.strip() for f in line.split("|", 4))
        assert name in text, f"{name}: the recorded line does not name it"
        assert re.fullmatch(r"[0-9a-f]{40}|unattributed", commit), name
        assert path.startswith("sys/"), name
        out[name] = kind
    return out


def script_symbols() -> dict[str, str]:
    text = "\n".join(dtrace.script_text(s) for s in dtrace.SCRIPTS)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found = {f: "function" for f in re.findall(r"fbt::(\w+):", text)}
    found |= {g: "global" for g in re.findall(r"`(\w+)", text)}
    found |= {m: "member" for m in re.findall(r"(?:->|\.)([a-z]\w*)", text)}
    # DTrace built-ins and D's own words, not kernel symbols
    for word in (
        "na_pages",
        "seg",
        "cpudom",
        "policy",
        "dom",
        "pd_dom",
        "pd_ts",
        "pd_ldom",
        "pd_lon",
        "ie",
        "ie_ts",
        "it",
        "it_ts",
        "d",
        "pd_vmd",
        "pd_freed0",
        "freed",
        "uma_in",
    ):
        found.pop(word, None)
    return found


def test_scripts_name_exactly_the_verified_symbols() -> None:
    assert script_symbols() == recorded_symbols()


def test_runner_lists_missing_probes() -> None:
    def fake(argv):  # type: ignore[no-untyped-def]
        name = argv[-1].split(":")[2]
        ok = name != "vm_pageout_scan_active"
        out = f"   ID PROVIDER MODULE FUNCTION NAME\n 1 fbt kernel {name} entry\n" if ok else ""
        return subprocess.CompletedProcess(argv, 0 if ok else 1, out, "")

    check = dtrace.check_probes(run=fake)
    assert check.missing.keys() == {"vm_pageout_scan_active"}
    assert "intr_event_handle" in check.found


def test_preflight_says_what_is_missing() -> None:
    with pytest.raises(NumascopeError, match=r"^dtrace not found"):
        dtrace.preflight(which=lambda _: None)
    with pytest.raises(NumascopeError, match=r"^dtrace needs root"):
        dtrace.preflight(which=lambda _: "/usr/sbin/dtrace", euid=1000)


def test_combined_script_sets_the_tick() -> None:
    text = dtrace.combined_script(2)
    assert "tick-2s" in text and "NUMASCOPE_INTERVAL" not in text
