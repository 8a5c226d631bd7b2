"""The reclaim and IRQ collectors over stand-in tables, and source generation.

Beside the real-kernel tests in tests/kernel/test_reclaim_irq_live.py: these
pin the arithmetic (CPU to node, shared lines, drains) with exact numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

from numascope.collectors.irqs import IrqCollector
from numascope.collectors.reclaim import ReclaimCollector
from numascope.probes.irq import PROGRAMS as IRQ_PROGRAMS
from numascope.probes.irq import IrqLayout
from numascope.probes.programs import build_family_source
from numascope.probes.reclaim import KINDS, STALL_SLOTS, build_source, layout_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reclaim-irq"

FORMAT = """name: {event}
ID: 1
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
{fields}
print fmt: "x"
"""


class Key(NamedTuple):
    tgid: int
    kind: int
    cpu_node: int


class Table(dict[Any, Any]):
    """A bcc-like table: item access, items(), pop() and a Leaf type."""

    Leaf = staticmethod(lambda *a: SimpleNamespace(value=a[0] if a else 0, stalls=0))


def counts(count: int, ns: int = 0) -> SimpleNamespace:
    return SimpleNamespace(count=count, ns=ns)


def test_irq_counts_go_to_the_handling_cpus_node_and_shared_lines_divide() -> None:
    zero = counts(0)
    irq_stats = Table(
        {
            45: [counts(10, 1000), counts(20, 2000), counts(300, 30000), counts(400, 40000)],
            50: [counts(14, 700), zero, zero, zero],  # two handlers: 7 interrupts
            36: [zero, zero, zero, zero],
            24: [zero, zero, zero, zero],
        }
    )
    softirq = Table({v: [zero] * 4 for v in range(11)})
    softirq[3] = [counts(5, 50), zero, counts(1, 10), zero]
    tables = {"irq_stats": irq_stats, "softirq_stats": softirq}
    cpu_node = {0: 0, 1: 0, 2: 1, 3: 1}
    collector = IrqCollector(
        tables, IrqLayout(irq_slots=256), cpu_node, proc=FIXTURES / "proc", sysfs=FIXTURES / "sys"
    )
    irqs, softirqs = collector.read()
    by_irq = {i.irq: i for i in irqs}
    assert sorted(by_irq) == [45, 50]  # 36 never fired; 24 has no slot reading
    rng = by_irq[45]
    assert rng.device_node == 1
    assert {n: c.total for n, c in rng.count_by_node.items()} == {0: 30, 1: 700}
    assert rng.seconds_by_node[1].total == 70000 / 1e9
    assert rng.remote_share == 30 / 730
    assert by_irq[50].count_by_node[0].total == 7
    assert [(s.vector, {n: c.total for n, c in s.count_by_node.items()}) for s in softirqs] == [
        ("NET_RX", {0: 5, 1: 1})
    ]
    # The next poll's deltas are what the interval added.
    irq_stats[45][3] = counts(500, 50000)
    irqs, _ = collector.read()
    assert next(i for i in irqs if i.irq == 45).count_by_node[1].delta == 100


def node_counts(**kw: Any) -> SimpleNamespace:
    base: dict[str, Any] = {
        "kswapd_wakeups": 0,
        "kswapd_awake_ns": 0,
        "compaction_stalls": 0,
        "scanned": [0] * len(KINDS),
        "reclaimed": [0] * len(KINDS),
        "stalls": [0] * len(KINDS),
        "stall_reclaimed": [0] * len(KINDS),
    }
    base.update(kw)
    return SimpleNamespace(**base)


def staller(stalls: int, reclaimed: int, ns: int, slot: int) -> SimpleNamespace:
    slots = [0] * STALL_SLOTS
    slots[slot] = stalls
    return SimpleNamespace(
        comm=b"dd\0", stalls=stalls, reclaimed=reclaimed, stall_ns=ns, slots=slots
    )


def test_reclaim_collector_sums_cpus_and_drains_the_idle_buffer() -> None:
    layout = layout_for((0, 1))
    empty = [node_counts(), node_counts()]
    node_stats = Table({0: list(empty), 1: list(empty), 2: list(empty)})
    node_stats[1] = [
        node_counts(kswapd_wakeups=2, scanned=[100, 0, 0, 0, 0], reclaimed=[90, 0, 0, 0, 0]),
        node_counts(kswapd_wakeups=1, stalls=[0, 3, 0, 0, 0], stall_reclaimed=[0, 64, 0, 0, 0]),
    ]
    key = Key(tgid=4242, kind=1, cpu_node=1)
    stallers0 = Table({key: staller(3, 64, 3_000_000, 11)})
    tables = {
        "node_stats": node_stats,
        "kswapd_since": Table({0: SimpleNamespace(value=0), 1: 0, 2: 0}),
        "stallers0": stallers0,
        "stallers1": Table(),
        "epoch": Table({0: 0}),
        "stall_overflow": Table({0: SimpleNamespace(stalls=0), 1: SimpleNamespace(stalls=0)}),
    }
    collector = ReclaimCollector(
        tables,
        layout,
        (0, 1),
        sysfs=FIXTURES / "sys",
        proc=FIXTURES / "proc",
        settle_seconds=0,
        page_size=65536,  # a 64 KiB-page kernel's zoneinfo
    )
    reading = collector.read()
    assert reading.nodes[1].watermark_low_bytes == 1250 * 65536
    assert tables["epoch"][0].value == 1  # programs now write the other buffer
    assert not stallers0  # drained
    node1 = reading.nodes[1]
    assert node1.kswapd_wakeups.total == 3
    assert (node1.pages_scanned.total, node1.pages_reclaimed.total) == (100, 90)
    assert (node1.direct_reclaim_stalls.delta, node1.direct_reclaim_pages.delta) == (3, 64)
    assert node1.under_reclaim and not reading.nodes[0].under_reclaim
    assert node1.free_bytes == 400 * 1024
    (row,) = reading.stalls
    assert (row.workload_key, row.workload_name, row.pid, row.cause) == (
        "pid:4242",
        "dd",
        4242,
        "direct",
    )
    assert row.stall_seconds.count == 3 and row.stall_seconds.sum_seconds == 0.003
    # 3 stalls in slot 11 (1.024 .. 2.048 ms): all within the 2.048 ms bucket.
    assert dict(row.stall_seconds.buckets)[2048e-6] == 3
    assert dict(row.stall_seconds.buckets)[1024e-6] == 0
    # Drained totals persist: a second poll with nothing new keeps them, delta 0.
    again = collector.read()
    assert again.stalls[0].stalls.total == 3 and again.stalls[0].stalls.delta == 0


def _tracefs(root: Path, events: dict[str, str]) -> Path:
    for name, fields in events.items():
        category, event = name.split(":")
        folder = root / "events" / category / event
        folder.mkdir(parents=True)
        (folder / "format").write_text(FORMAT.format(event=event, fields=fields))
    return root


def test_a_missing_tracepoint_drops_its_group_and_nothing_else(tmp_path: Path) -> None:
    irq = "\tfield:int irq;\toffset:8;\tsize:4;\tsigned:1;"
    vec = "\tfield:unsigned int vec;\toffset:8;\tsize:4;\tsigned:0;"
    tracefs = _tracefs(
        tmp_path,
        {"irq:irq_handler_entry": irq, "irq:softirq_entry": vec, "irq:softirq_exit": vec},
    )
    template = (Path(__file__).resolve().parents[2] / "src/numascope/probes/irq.bpf.c").read_text()
    source = build_family_source(template, IRQ_PROGRAMS, {"IRQ_SLOTS": 256}, tracefs)
    assert set(source.missing) == {"irq:irq_handler_exit"}
    # The entry half of the pair goes too; the softirq pair stays.
    assert set(source.attach) == {"on_softirq_entry", "on_softirq_exit"}
    assert "int on_irq_entry(" not in source.text and "int on_irq_exit(" not in source.text
    assert "struct softirq_exit_args" in source.text and "#define IRQ_SLOTS 256" in source.text


def test_treating_a_tracepoint_as_absent_works_like_a_missing_one(tmp_path: Path) -> None:
    nid = "\tfield:int nid;\toffset:8;\tsize:4;\tsigned:1;"
    tracefs = _tracefs(
        tmp_path,
        {"vmscan:mm_vmscan_kswapd_wake": nid, "vmscan:mm_vmscan_kswapd_sleep": nid},
    )
    source = build_source(layout_for((0,)), tracefs, absent={"vmscan:mm_vmscan_kswapd_sleep"})
    assert "on_kswapd_wake" not in source.attach
    assert "vmscan:mm_vmscan_kswapd_sleep" in source.missing
    assert "treated as absent" in source.missing["vmscan:mm_vmscan_kswapd_sleep"]


def test_irq_info_is_read_again_once_it_is_older_than_info_seconds(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sys", tmp_path / "sys")
    shutil.copytree(FIXTURES / "proc", tmp_path / "proc")
    now = [100.0]
    tables = {
        "irq_stats": Table(
            {
                irq: [counts(1 if irq == 45 else 0), counts(0), counts(0), counts(0)]
                for irq in (24, 36, 45, 50)
            }
        ),
        "softirq_stats": Table({v: [counts(0)] * 4 for v in range(11)}),
    }
    collector = IrqCollector(
        tables,
        IrqLayout(irq_slots=256),
        {0: 0, 1: 0, 2: 1, 3: 1},
        proc=tmp_path / "proc",
        sysfs=tmp_path / "sys",
        info_seconds=10.0,
        clock=lambda: now[0],
    )
    (first,) = collector.read()[0]
    affinity = tmp_path / "proc/irq/45/smp_affinity_list"
    affinity.write_text("3\n")
    now[0] += 9.0
    (kept,) = collector.read()[0]
    assert kept.affinity == first.affinity != (3,)
    now[0] += 1.0
    (fresh,) = collector.read()[0]
    assert fresh.affinity == (3,)


def test_watermarks_are_read_again_once_older_than_watermark_seconds(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "proc", tmp_path / "proc")
    now = [50.0]
    tables = {
        "node_stats": Table({slot: [node_counts(), node_counts()] for slot in (0, 1, 2)}),
        "kswapd_since": Table({0: SimpleNamespace(value=0), 1: 0, 2: 0}),
        "stallers0": Table(),
        "stallers1": Table(),
        "epoch": Table({0: 0}),
        "stall_overflow": Table({0: SimpleNamespace(stalls=0), 1: SimpleNamespace(stalls=0)}),
    }
    collector = ReclaimCollector(
        tables,
        layout_for((0, 1)),
        (0, 1),
        sysfs=FIXTURES / "sys",
        proc=tmp_path / "proc",
        settle_seconds=0,
        watermark_seconds=10.0,
        clock=lambda: now[0],
    )
    first = collector.read().nodes[1].watermark_low_bytes
    assert first == 1250 * 4096
    (tmp_path / "proc/zoneinfo").unlink()  # read again, it gives no watermarks
    now[0] += 9.0
    assert collector.read().nodes[1].watermark_low_bytes == first
    now[0] += 1.0
    assert collector.read().nodes[1].watermark_low_bytes == 0
