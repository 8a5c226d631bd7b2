"""The migrate collector's bookkeeping on stand-in maps (the real maps: tests/kernel)."""

from __future__ import annotations

import json
from pathlib import Path

from numascope.collectors.kernel_counters import MigrationCounterCollector
from numascope.collectors.migrate import MigrateCollector, is_kernel_thread
from numascope.snapshot.codec import snapshot_from_json, snapshot_to_json
from numascope.snapshot.migration import (
    UNKNOWN_NODE,
    KernelMigrationCounters,
    MigrationRow,
    MigrationSection,
    TaskMoveRow,
    pages_by_reason,
    reason_name,
    task_moves_of,
)
from numascope.snapshot.model import HostInfo, Snapshot
from numascope.snapshot.sections import Count
from tests.fakes.bcc_tables import MigrateTables, migrate_counts, task_move_counts

NODES = (0, 1)
SLOTS = len(NODES) + 1


def test_rows_sum_cpus_name_reasons_and_keep_deltas(tmp_path: Path) -> None:
    tables = MigrateTables(SLOTS)
    tables.put(42, 3, 0, migrate_counts(SLOTS, b"numactl", 1, 10000, 2, sources={0: 6000}))
    tables.put(42, 3, 1, migrate_counts(SLOTS, b"numactl", 1, 6384, 0, targets={1: 16384}))
    collector = MigrateCollector(tables, NODES, proc=tmp_path)
    (row,) = collector.read().rows
    assert (row.tgid, row.name, row.reason) == (42, "numactl", "syscall_or_cpuset")
    assert row.succeeded == Count(16384, 16384) and row.failed == Count(2, 2)
    assert row.calls == Count(2, 2)
    assert row.sources == {0: Count(6000, 6000)} and row.targets == {1: Count(16384, 16384)}

    tables.put(42, 3, 0, migrate_counts(SLOTS, b"numactl", 2, 10100, 2, sources={0: 6100}))
    (row,) = collector.read().rows
    assert row.succeeded == Count(16484, 100) and row.sources[0] == Count(6100, 100)


def test_unknown_node_slot_overflow_row_and_reason_names(tmp_path: Path) -> None:
    tables = MigrateTables(SLOTS)
    tables.put(7, 0, 0, migrate_counts(SLOTS, b"kcompactd0", 1, 5, sources={2: 5}))
    tables.overflow[5][1] = migrate_counts(SLOTS, b"x", 1, 512, thp=(1, 0, 0))
    rows = {
        (r.tgid, r.reason): r for r in MigrateCollector(tables, NODES, proc=tmp_path).read().rows
    }
    assert rows[(7, "compaction")].sources == {UNKNOWN_NODE: Count(5, 5)}
    other = rows[(0, "numa_misplaced")]
    assert other.name == "other" and other.thp_succeeded.total == 1
    by_reason = pages_by_reason(rows.values())
    assert by_reason == {"compaction": Count(5, 5), "numa_misplaced": Count(512, 512)}
    assert reason_name(9) == "damon" and reason_name(12) == "reason_12"


def test_task_moves_by_outcome_and_node_with_deltas_names_and_overflow(tmp_path: Path) -> None:
    tables = MigrateTables(SLOTS)
    moves = tables.tasks
    moves.put(42, 0, 1, 0, task_move_counts(b"java", 2))  # moved to node 1, on two CPUs
    moves.put(42, 0, 1, 1, task_move_counts(b"java", 1))
    moves.put(42, 2, -1, 0, task_move_counts(b"java", 5))  # stuck: no CPU found
    moves.put(42, 2, 0, 1, task_move_counts(b"java", 1))  # stuck: the move to node 0 failed
    # The other task of a swap: not the current one, so no comm from the probe.
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "comm").write_text("postgres\n")
    moves.put(77, 1, 0, 0, task_move_counts(b"", 4))
    moves.put(99, 1, 7, 0, task_move_counts(b"gone", 1))  # a node the topology lacks
    moves.overflow[2][1] = task_move_counts(b"x", 3)
    collector = MigrateCollector(tables, NODES, proc=tmp_path)
    section = collector.read()
    assert section.tracks_task_moves
    rows = {(r.tgid, r.outcome): r for r in section.task_moves}
    assert rows[(42, "moved")] == TaskMoveRow(42, "java", "moved", {1: Count(3, 3)})
    assert rows[(42, "stuck")].to_nodes == {UNKNOWN_NODE: Count(5, 5), 0: Count(1, 1)}
    assert rows[(77, "swapped")].name == "postgres"
    assert rows[(99, "swapped")].to_nodes == {UNKNOWN_NODE: Count(1, 1)}
    assert rows[(0, "stuck")].name == "other" and rows[(0, "stuck")].events == Count(3, 3)
    mine = task_moves_of(section, 42)
    assert {o: r.events for o, r in mine.items()} == {
        "moved": Count(3, 3),
        "swapped": Count(),
        "stuck": Count(6, 6),
    }

    moves.put(42, 0, 1, 0, task_move_counts(b"java", 6))
    (tmp_path / "77" / "comm").unlink()  # /proc was read once for it: the name stays
    section = collector.read()
    rows = {(r.tgid, r.outcome): r for r in section.task_moves}
    assert rows[(42, "moved")].to_nodes == {1: Count(7, 4)}
    assert rows[(42, "stuck")].events == Count(6, 0)
    assert rows[(77, "swapped")].name == "postgres"


def test_kernel_thread_read_from_stat_flags(tmp_path: Path) -> None:
    (tmp_path / "55").mkdir()
    # kcompactd's flags on 6.18 (PF_KTHREAD 0x00200000 set); a name with spaces.
    (tmp_path / "55/stat").write_text("55 (kcompactd 0) S 2 0 0 0 -1 2129984 0 0\n")
    (tmp_path / "56").mkdir()
    (tmp_path / "56/stat").write_text("56 (python3) S 1 56 56 0 -1 4194560 10 0\n")
    assert is_kernel_thread(55, tmp_path)
    assert not is_kernel_thread(56, tmp_path)
    assert not is_kernel_thread(57, tmp_path)  # exited


def test_kernel_counters_count_from_the_first_read(tmp_path: Path) -> None:
    (tmp_path / "vmstat").write_text("pgmigrate_success 1000\npgmigrate_fail 3\nnr_free 9\n")
    node1 = tmp_path / "devices/system/node/node1"
    node1.mkdir(parents=True)
    (node1 / "vmstat").write_text("pgpromote_success 50\n")
    collector = MigrationCounterCollector(NODES, sysfs=tmp_path, proc=tmp_path)
    collector.read()
    (tmp_path / "vmstat").write_text("pgmigrate_success 1600\npgmigrate_fail 3\n")
    (node1 / "vmstat").write_text("pgpromote_success 80\n")
    host, node = collector.read()
    assert host.node is None and host.counters["pgmigrate_success"] == Count(600, 600)
    assert "nr_free" not in host.counters
    assert node.node == 1 and node.counters == {"pgpromote_success": Count(30, 30)}


def test_section_survives_the_codec_and_old_snapshots_load_without_it() -> None:
    section = MigrationSection(
        rows=(
            MigrationRow(
                42,
                "numactl",
                "syscall_or_cpuset",
                succeeded=Count(16384, 100),
                sources={0: Count(16384, 100)},
                targets={1: Count(16384, 100), UNKNOWN_NODE: Count(3, 0)},
            ),
        ),
        tracks_nodes=True,
        kernel=(
            KernelMigrationCounters(None, {"pgmigrate_success": Count(16384, 100)}),
            KernelMigrationCounters(1, {"pgpromote_success": Count(2, 1)}),
        ),
    )
    snap = Snapshot(1, 1.0, 1.0, "bpf", HostInfo(), (), migrations=section)
    assert snapshot_from_json(snapshot_to_json(snap)) == snap
    old = json.loads(snapshot_to_json(snap))
    del old["migrations"]
    assert snapshot_from_json(json.dumps(old)).migrations is None
