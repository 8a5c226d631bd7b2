"""The exporter's migration metrics: by reason, per workload adding up, the kernel's."""

from __future__ import annotations

import dataclasses

from numascope.exporters.prometheus.migration_series import MIGRATION_LIMIT
from numascope.snapshot.migration import (
    REASONS,
    KernelMigrationCounters,
    MigrationRow,
    MigrationSection,
    TaskMoveRow,
)
from numascope.snapshot.sections import Count
from tests.fixtures import export_streams
from tests.promtools import promtool
from tests.unit.test_export_metrics import samples, scrape, scrape_stream


def _rows(step: int, count: int) -> tuple[MigrationRow, ...]:
    """`count` processes, process i having migrated (i + 1) * step pages for one
    reason and, every third one, a kernel thread for compaction too."""
    rows = []
    for i in range(count):
        reason = REASONS[i % 6]
        pages = (i + 1) * step
        rows.append(
            MigrationRow(
                100 + i,
                f"worker-{i}",
                reason,
                kernel_thread=i % 3 == 0,
                succeeded=Count(pages, i + 1),
                failed=Count(step, 1),
                sources={0: Count(pages, i + 1)},
                targets={1: Count(pages, i + 1), -1: Count(step, 0)},
            )
        )
    return tuple(rows)


def _section(step: int, count: int) -> MigrationSection:
    rows = _rows(step, count)
    pages = sum(r.succeeded.total for r in rows)
    kernel = (
        KernelMigrationCounters(None, {"pgmigrate_success": Count(pages, 0)}),
        KernelMigrationCounters(1, {"pgpromote_success": Count(step, 0)}),
    )
    return MigrationSection(rows, True, kernel)


def test_per_workload_series_stay_bounded_and_add_up_to_the_host_counter() -> None:
    base = export_streams.two_node(1)
    stream = [dataclasses.replace(base, seq=s, migrations=_section(s, 60)) for s in (1, 3, 4)]
    text = scrape_stream(stream)
    promtool("check", "metrics", stdin=text)
    per_workload = samples(text, "numascope_migrated_pages_by_workload_total")
    workloads = {k.split("reason=")[0] for k in per_workload}
    assert len(workloads) == MIGRATION_LIMIT + 1  # the named ones and "other"
    assert any('workload="other"' in k for k in per_workload)
    host = samples(text, "numascope_migrated_pages_total")
    first, last = _rows(1, 60), _rows(4, 60)
    assert sum(host.values()) == sum(r.succeeded.total for r in last)
    # The series count from the first step (a series starts at 0): they add up to
    # the host counter's growth over the same steps, reason by reason.
    for reason in REASONS[:6]:
        grew = sum(r.succeeded.total for r in last if r.reason == reason) - sum(
            r.succeeded.total for r in first if r.reason == reason
        )
        mine = sum(v for k, v in per_workload.items() if f'reason="{reason}"' in k)
        assert mine == grew, reason
    assert any('kind="kernel_thread"' in k for k in per_workload)
    assert any('workload="worker-59"' in k for k in per_workload)
    assert not any('workload="worker-0"' in k for k in per_workload)


def test_nodes_failures_and_the_kernel_counters_beside_them() -> None:
    snap = dataclasses.replace(export_streams.two_node(1), migrations=_section(2, 3))
    text = scrape(snap)
    nodes = samples(text, "numascope_migration_node_pages_total")
    assert nodes['{direction="target",node="1",reason="compaction"}'] == 2
    assert nodes['{direction="target",node="-1",reason="compaction"}'] == 2
    assert nodes['{direction="source",node="0",reason="memory_failure"}'] == 4
    failed = samples(text, "numascope_migration_failed_pages_total")
    assert sum(failed.values()) == 6
    kernel = samples(text, "numascope_migration_kernel_total")
    assert kernel == {'{counter="pgmigrate_success"}': 2 + 4 + 6}
    per_node = samples(text, "numascope_migration_kernel_node_total")
    assert per_node == {'{counter="pgpromote_success",node="1"}': 2}


def test_task_moves_by_outcome_and_node_summed_over_processes() -> None:
    moves = (
        TaskMoveRow(10, "java", "moved", {1: Count(3, 1)}),
        TaskMoveRow(11, "pg", "moved", {1: Count(2, 0), 0: Count(1, 1)}),
        TaskMoveRow(10, "java", "stuck", {-1: Count(40, 5), 0: Count(1, 0)}),
    )
    section = dataclasses.replace(_section(2, 3), task_moves=moves, tracks_task_moves=True)
    text = scrape(dataclasses.replace(export_streams.two_node(1), migrations=section))
    promtool("check", "metrics", stdin=text)
    assert samples(text, "numascope_numa_task_moves_total") == {
        '{node="1",outcome="moved"}': 5,
        '{node="0",outcome="moved"}': 1,
        '{node="-1",outcome="stuck"}': 40,
        '{node="0",outcome="stuck"}': 1,
    }


def test_without_the_migrate_family_no_migration_metric_is_served() -> None:
    text = scrape(dataclasses.replace(export_streams.two_node(1), migrations=None))
    assert "numascope_migrat" not in text
