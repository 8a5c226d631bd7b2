"""The exporter's account of itself: per-family polls, per-program BPF cost, failures
by family, the source's fallback, the build's revision, and the process_* families.

The live source runs over stand-in maps (tests/fakes); tests/kernel/test_self_metrics_live.py
reads the same figures from real programs through `numascope export`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest

from numascope import __version__
from numascope.collectors.family_ledger import FamilyLedger
from numascope.config import Config
from numascope.errors import ProbeUnavailableError, first_reason, reason_of
from numascope.exporters.prometheus import ScrapeState, exporter_registry
from numascope.probes.prog_stats import ProgStats
from numascope.snapshot.codec import snapshot_from_json, snapshot_to_json
from numascope.snapshot.model import FamilyHealth, Health, ProgramCost, Snapshot
from tests.fakes.bcc_tables import FakeTables
from tests.fixtures import export_streams
from tests.promtools import promtool
from tests.unit.test_export_metrics import samples, scrape
from tests.unit.test_live_faults import LAYOUT, BrokenFamily, source


def test_the_ledger_times_each_read_and_notes_failures() -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5])
    ledger = FamilyLedger(clock=lambda: next(ticks))
    ledger.expect(["page_alloc", "slab"])
    ledger.begin_poll()
    assert ledger.timed("page_alloc", lambda: 7) == 7

    def broken() -> None:
        raise OSError(9, "Bad file descriptor")

    with pytest.raises(OSError):
        ledger.timed("irq", broken)
    ledger.fail("irq")
    report = ledger.report()
    assert report["page_alloc"] == FamilyHealth(poll_seconds=0.25, ok=True, failures=0)
    assert report["irq"] == FamilyHealth(poll_seconds=0.5, ok=False, failures=1)
    assert report["slab"] == FamilyHealth(poll_seconds=0.0, ok=False, failures=0), (
        "a family asked for that never read is reported as not working"
    )
    ledger.begin_poll()
    assert ledger.report()["page_alloc"].ok is False, "each poll starts afresh"
    assert ledger.report(broken={"irq"})["irq"].failures == 1


def stats_by_fd(fd: int) -> ProgStats:
    # Page allocation's fake programs have no fds of their own; the family's is 901.
    return ProgStats(fd, f"prog{fd}", run_time_ns=1000 * fd, run_count=fd, recursion_misses=0)


def test_a_live_source_reports_each_family_and_program(tmp_path: Path) -> None:
    family = BrokenFamily(good=1)
    src = source(tmp_path, FakeTables(LAYOUT.node_slots), families=[family], prog_stats=stats_by_fd)
    health = src.poll().health
    assert set(health.families) == {"page_alloc", "reclaim"}
    assert all(f.ok and f.failures == 0 for f in health.families.values())
    assert health.families["reclaim"].poll_seconds > 0
    assert health.programs == {"reclaim.on_wake": ProgramCost(run_ns=901_000, runs=901)}
    assert (health.bpf_run_ns, health.bpf_run_count) == (901_000, 901), "totals are the sum"
    after = src.poll().health  # the family's read fails: dropped, counted against it
    assert not after.families["reclaim"].ok and after.families["reclaim"].failures == 1
    assert after.families["page_alloc"].ok and after.families["page_alloc"].failures == 0
    assert after.probe_failures == 1
    assert "reclaim.on_wake" not in after.programs, "a dropped family's programs are gone"
    later = src.poll().health
    assert later.families["reclaim"] == FamilyHealth(poll_seconds=0.0, ok=False, failures=1)


def test_a_detached_program_fails_its_family(tmp_path: Path) -> None:
    family = BrokenFamily(good=1000)
    reads = iter([ProgStats(5, "on_wake", 100, 1, 0), None])
    src = source(tmp_path, families=[family], prog_stats=lambda fd: next(reads, None))
    assert src.poll().health.families["reclaim"].ok
    health = src.poll().health
    assert health.families["reclaim"] == FamilyHealth(
        poll_seconds=health.families["reclaim"].poll_seconds, ok=False, failures=1
    )
    assert health.programs == {}


def test_families_that_never_attached_are_reported_not_working(tmp_path: Path) -> None:
    src = source(
        tmp_path,
        FakeTables(LAYOUT.node_slots),
        failed={"slab": "tracepoint kmem:kmem_cache_alloc is not in this kernel"},
    )
    families = src.poll().health.families
    assert families["slab"] == FamilyHealth(poll_seconds=0.0, ok=False, failures=0)
    assert families["page_alloc"].ok


def health_snapshot(health: Health) -> Snapshot:
    base = export_streams.two_node(1)
    return Snapshot(
        seq=1, time=base.time, interval=1.0, source="bpf", host=base.host, nodes=(), health=health
    )


def test_family_program_and_failure_series_follow_the_health() -> None:
    text = scrape(
        health_snapshot(
            Health(
                families={
                    "page_alloc": FamilyHealth(poll_seconds=0.003),
                    "irq": FamilyHealth(poll_seconds=0.0, ok=False, failures=2),
                },
                programs={"page_alloc.on_page_alloc": ProgramCost(run_ns=2_500_000, runs=40)},
            )
        )
    )
    promtool("check", "metrics", stdin=text)
    assert samples(text, "numascope_family_poll_duration_seconds") == {
        '{family="page_alloc"}': 0.003,
        '{family="irq"}': 0.0,
    }
    assert samples(text, "numascope_family_poll_success") == {
        '{family="page_alloc"}': 1.0,
        '{family="irq"}': 0.0,
    }
    assert samples(text, "numascope_probe_failures_total") == {
        '{family="page_alloc"}': 0.0,
        '{family="irq"}': 2.0,
    }
    assert samples(text, "numascope_bpf_run_seconds_total") == {
        '{program="page_alloc.on_page_alloc"}': 0.0025
    }
    assert samples(text, "numascope_bpf_runs_total") == {
        '{program="page_alloc.on_page_alloc"}': 40.0
    }


def test_a_capture_from_before_per_program_figures_keeps_its_totals() -> None:
    text = scrape(health_snapshot(Health(bpf_run_ns=3_000_000, bpf_run_count=7, probe_failures=1)))
    promtool("check", "metrics", stdin=text)
    assert samples(text, "numascope_bpf_run_seconds_total") == {'{program=""}': 0.003}
    assert samples(text, "numascope_bpf_runs_total") == {'{program=""}': 7.0}
    assert samples(text, "numascope_probe_failures_total") == {'{family=""}': 1.0}


def test_the_source_fallback_series_names_its_reason() -> None:
    healthy = scrape(health_snapshot(Health()))
    assert samples(healthy, "numascope_source_fallback") == {'{reason=""}': 0.0}
    degraded = scrape(health_snapshot(Health(source_fallback="no_kernel_headers")))
    promtool("check", "metrics", stdin=degraded)
    assert samples(degraded, "numascope_source_fallback") == {'{reason="no_kernel_headers"}': 1.0}


def test_reason_codes_of_probe_failures() -> None:
    assert reason_of(ProbeUnavailableError("needs root", "no_privilege")) == "no_privilege"
    assert reason_of(RuntimeError("anything else")) == "attach_failed"


def test_build_info_carries_the_revision() -> None:
    state = ScrapeState(None, Config(), revision="0123456789abcdef0123456789abcdef01234567")
    text = generate_latest(exporter_registry(lambda: state)).decode()
    assert samples(text, "numascope_build_info") == {
        f'{{revision="0123456789abcdef0123456789abcdef01234567",version="{__version__}"}}': 1.0
    }


def test_the_exporter_registry_serves_the_process_and_python_families() -> None:
    state = ScrapeState(export_streams.two_node(1), Config())
    text = generate_latest(exporter_registry(lambda: state)).decode()
    promtool("check", "metrics", stdin=text)
    assert samples(text, "process_resident_memory_bytes")[""] > 1e6
    assert samples(text, "process_cpu_seconds_total")[""] > 0
    assert samples(text, "process_open_fds")[""] >= 3
    assert any(k.startswith("{") for k in samples(text, "python_info"))
    assert samples(text, "python_gc_collections_total")
    assert samples(text, "numascope_node_pages_total"), "numascope's own families still served"


def test_the_most_basic_reason_explains_a_fallback() -> None:
    # As nobody, tracefs is unreadable too: a family then finds no tracepoints at all.
    assert first_reason(["attach_failed", "no_privilege", "no_privilege"]) == "no_privilege"
    assert first_reason(["compile_failed", "no_kernel_headers"]) == "no_kernel_headers"
    assert first_reason(["attach_failed"]) == "attach_failed"


def test_the_figures_survive_a_capture_round_trip() -> None:
    snap = export_streams.two_node(2)
    again = snapshot_from_json(snapshot_to_json(snap))
    assert again.health.families == snap.health.families
    assert again.health.programs == snap.health.programs
    assert again.health.families["page_alloc"] == FamilyHealth(poll_seconds=0.0021)
    fallback = health_snapshot(Health(source_fallback="no_bcc"))
    assert snapshot_from_json(snapshot_to_json(fallback)).health.source_fallback == "no_bcc"


def test_the_bpf_figures_say_they_are_kernel_timed_and_sampled() -> None:
    """What /metrics says numascope costs must not pass for what a workload pays."""
    health = Health(
        programs={"page_alloc.on_page_alloc": ProgramCost(run_ns=4_000_000, runs=20_000)},
        bpf_run_ns=4_000_000,
        bpf_run_count=20_000,
        bpf_stats_seconds=4.0,
    )
    text = scrape(health_snapshot(health))
    helps = {line.split()[2]: line for line in text.splitlines() if line.startswith("# HELP")}
    run = helps["numascope_bpf_run_seconds_total"]
    assert "kernel-timed" in run and "reads high in virtual machines" in run
    assert "sampled" in run and "numascope_bpf_stats_seconds_total" in run
    assert "share of a CPU" in helps["numascope_bpf_stats_seconds_total"]
    assert samples(text, "numascope_bpf_stats_seconds_total") == {"": 4.0}
