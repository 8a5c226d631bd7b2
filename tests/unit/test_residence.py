"""Residence: numa_maps weighted by page size and split by kind, cgroups' numa_stat
(v1 and v2), nodes' meminfo and hugetlb pools, the moved share, the section's
sums, and the resident-outside-bind finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from numascope.collectors.mempolicy import (
    MemPolicy,
    ProcessPolicy,
    parse_numa_maps,
    read_process_policy,
)
from numascope.collectors.residence import (
    parse_numa_stat,
    read_cgroup_residence,
    read_node_residence,
    region_split,
    resident_bytes,
)
from numascope.config import Config
from numascope.pipeline.residence_step import ResidenceStep
from numascope.policy import evaluate
from numascope.policy.judge import RESIDENT_OUTSIDE_BIND
from numascope.snapshot.codec import snapshot_from_json, snapshot_to_json
from numascope.snapshot.columns import as_new_columns
from numascope.snapshot.model import HostInfo, Locality, Snapshot, Workload, WorkloadKind
from numascope.snapshot.residence import (
    RESIDENT_KINDS,
    ResidenceSection,
    ResidentBytes,
    moved_share,
)

# Lines as a 6.1 kernel prints them (file names escape a space as \040).
NUMA_MAPS = """\
55d0c7a00000 default file=/usr/bin/app mapped=120 mapmax=3 N0=120 kernelpagesize_kB=4
55d0c7c78000 default file=/usr/bin/app anon=3 dirty=3 mapped=12 active=0 N0=12 kernelpagesize_kB=4
55d0c8a1e000 default heap anon=40 dirty=40 active=0 N0=30 N1=10 kernelpagesize_kB=4
7f3b2c000000 default anon=256 dirty=256 active=0 N1=256 kernelpagesize_kB=4
7f3b00000000 default file=/anon_hugepage\\040(deleted) huge anon=4 N1=4 kernelpagesize_kB=2048
7f3a00000000 default file=/mnt/huge/pool huge dirty=1 N0=1 kernelpagesize_kB=1048576
7f2fd80fd000 default file=/memfd:sealed\\040(deleted) dirty=10 N0=10 kernelpagesize_kB=4
7f2fd8200000 default file=/dev/shm/seg dirty=5 N1=5 kernelpagesize_kB=4
7ffd5b9e4000 default stack anon=9 dirty=9 active=0 N0=9 kernelpagesize_kB=4
7ffd5b9fb000 default
"""
KIB4 = 4096


def test_hugetlb_pages_count_for_their_size() -> None:
    regions = parse_numa_maps(NUMA_MAPS)
    huge_2m = next(r for r in regions if r.address == 0x7F3B00000000)
    huge_1g = next(r for r in regions if r.address == 0x7F3A00000000)
    assert huge_2m.pages == 4 and huge_2m.bytes == 4 * 2 * 2**20
    assert huge_1g.pages == 1 and huge_1g.bytes == 2**30
    total = resident_bytes(regions).total
    small = 120 + 12 + 40 + 256 + 10 + 5 + 9
    assert total == small * KIB4 + 4 * 2 * 2**20 + 2**30


def test_each_region_kind_as_documented() -> None:
    kinds = {r.address: region_split(r) for r in parse_numa_maps(NUMA_MAPS)}
    assert kinds[0x55D0C7A00000] == ("shared", "shared")  # mapmax=3
    assert kinds[0x55D0C7C78000] == ("anon", "file")  # private file, COW pages anon
    assert kinds[0x7F3B2C000000] == ("anon", "anon")  # no file
    assert kinds[0x7F3B00000000] == ("anon", "shared")  # hugetlb: anon= part anon
    assert kinds[0x7F2FD80FD000] == ("anon", "shared")  # memfd
    assert kinds[0x7F2FD8200000] == ("anon", "shared")  # tmpfs


def test_resident_bytes_split_by_kind_and_node() -> None:
    resident = resident_bytes(parse_numa_maps(NUMA_MAPS))
    assert resident.shared == {
        0: (120 + 10) * KIB4 + 2**30,
        1: 5 * KIB4,
    }
    assert resident.file == {0: 9 * KIB4}  # 12 pages, 3 of them anon
    assert resident.anon == {
        0: (3 + 30 + 9) * KIB4,
        1: (10 + 256) * KIB4 + 4 * 2 * 2**20,
    }


def test_a_region_with_both_kinds_splits_each_node_in_proportion() -> None:
    (region,) = parse_numa_maps("1000 default file=/f anon=50 N0=60 N1=40 kernelpagesize_kB=4")
    resident = resident_bytes([region])
    assert resident.anon == {0: 30 * KIB4, 1: 20 * KIB4}
    assert resident.file == {0: 30 * KIB4, 1: 20 * KIB4}
    assert resident.total == region.bytes


def test_policy_read_carries_residence_and_bytes() -> None:
    policy = read_process_policy(4242, proc=Path("tests/fixtures/proc"))
    assert policy is not None
    assert policy.residence.total == sum(policy.bytes_by_policy.values())
    assert policy.residence.by_node() == {0: 150 * KIB4, 1: (65877 - 150) * KIB4}


V2_NUMA_STAT = """\
anon N0=1048576 N1=8388608
file N0=4194304 N1=2097152
kernel_stack N0=16384 N1=0
pagetables N0=40960 N1=8192
sec_pagetables N0=0 N1=0
shmem N0=1048576 N1=0
file_mapped N0=2097152 N1=0
file_dirty N0=0 N1=0
file_writeback N0=0 N1=0
swapcached N0=0 N1=0
anon_thp N0=0 N1=0
file_thp N0=0 N1=0
shmem_thp N0=0 N1=0
inactive_anon N0=1048576 N1=8388608
active_anon N0=1048576 N1=0
inactive_file N0=1048576 N1=2097152
active_file N0=2097152 N1=0
unevictable N0=0 N1=0
slab_reclaimable N0=81920 N1=0
slab_unreclaimable N0=40960 N1=0
workingset_refault_anon N0=0 N1=0
"""

V1_NUMA_STAT = """\
total=3900 N0=3900 N1=0
file=48 N0=48 N1=0
anon=0 N0=0 N1=0
unevictable=3852 N0=3852 N1=0
hierarchical_total=208117 N0=200000 N1=8117
hierarchical_file=200198 N0=198000 N1=2198
hierarchical_anon=4067 N0=2000 N1=2067
hierarchical_unevictable=3852 N0=3852 N1=0
"""


def test_cgroup_v2_numa_stat_is_bytes_with_shmem_apart() -> None:
    resident = parse_numa_stat(V2_NUMA_STAT, page_size=KIB4)
    assert resident.anon == {0: 1048576, 1: 8388608}
    assert resident.file == {0: 3145728, 1: 2097152}  # file less shmem
    assert resident.shared == {0: 1048576}


def test_cgroup_v1_numa_stat_is_pages_hierarchical() -> None:
    resident = parse_numa_stat(V1_NUMA_STAT, page_size=KIB4)
    assert resident.anon == {0: 2000 * KIB4, 1: 2067 * KIB4}
    assert resident.file == {0: 198000 * KIB4, 1: 2198 * KIB4}
    assert resident.shared == {}


def test_cgroup_numa_stat_found_on_a_hybrid_host(tmp_path: Path) -> None:
    (tmp_path / "unified/system.slice/app.service").mkdir(parents=True)  # no memory there
    v1 = tmp_path / "memory/system.slice/app.service"
    v1.mkdir(parents=True)
    (v1 / "memory.numa_stat").write_text(V1_NUMA_STAT)
    found = read_cgroup_residence("/system.slice/app.service", cgroup_root=tmp_path, page_size=KIB4)
    assert found is not None and found.total == (4067 + 200198) * KIB4
    assert read_cgroup_residence("/gone", cgroup_root=tmp_path) is None


def test_node_hugetlb_pools_sum_every_size(tmp_path: Path) -> None:
    node = tmp_path / "devices/system/node/node1"
    for size, total, free in (("2048kB", 8, 3), ("1048576kB", 1, 1)):
        pool = node / "hugepages" / f"hugepages-{size}"
        pool.mkdir(parents=True)
        (pool / "nr_hugepages").write_text(f"{total}\n")
        (pool / "free_hugepages").write_text(f"{free}\n")
    (node / "meminfo").write_text(
        "Node 1 FilePages:   4096 kB\nNode 1 AnonPages:  1024 kB\nNode 1 Shmem:  1024 kB\n"
    )
    (found,) = read_node_residence((1,), sysfs=tmp_path)
    assert found.hugetlb_bytes == 8 * 2 * 2**20 + 2**30
    assert found.hugetlb_free_bytes == 3 * 2 * 2**20 + 2**30
    assert (found.file_bytes, found.shmem_bytes, found.anon_bytes) == (3 * 2**20, 2**20, 2**20)


@pytest.mark.parametrize(
    ("resident", "allocated", "share"),
    [
        ({0: 100}, {0: 7}, 0.0),  # where it was allocated
        ({1: 100}, {0: 7}, 1.0),  # all of it elsewhere
        ({0: 50, 1: 50}, {0: 10}, 0.5),
        ({0: 25, 1: 75}, {0: 50, 1: 50}, 0.25),
        ({0: 100}, {}, None),  # no allocation counted
        ({0: 100}, {-1: 5}, None),  # only pages of unknown node
    ],
)
def test_moved_share(
    resident: dict[int, int], allocated: dict[int, int], share: float | None
) -> None:
    assert moved_share(resident, allocated) == share


def _workload(pid: int, name: str, pages: dict[int, int]) -> Workload:
    loc = Locality(pages_by_node=pages, local_pages=sum(pages.values()))
    return Workload(f"pid:{pid}", WorkloadKind.PROCESS, name, loc, loc, pid=pid)


def _snapshot(seq: int, *workloads: Workload) -> Snapshot:
    return Snapshot(seq, float(seq), 1.0, "test", HostInfo(), (), processes=workloads)


def _policy(pid: int, name: str, resident: ResidentBytes, bind: bool = False) -> ProcessPolicy:
    mode = MemPolicy("bind", nodes=(1,)) if bind else MemPolicy("default")
    return ProcessPolicy(pid, name, mode, residence=resident)


def test_section_names_the_largest_and_sums_the_rest(tmp_path: Path) -> None:
    step = ResidenceStep(sysfs=tmp_path, cgroup_root=tmp_path, process_rows=2)
    sizes = {1: 10, 2: 30, 3: 20, 4: 5}
    policies = {
        pid: _policy(pid, f"p{pid}", ResidentBytes({0: n}, {1: n}, {})) for pid, n in sizes.items()
    }
    snap = _snapshot(1, *(_workload(pid, f"p{pid}", {0: 1}) for pid in sizes))
    section = step.section(snap, policies)
    assert [r.pid for r in section.processes] == [2, 3]
    assert section.other_processes == ResidentBytes({0: 15}, {1: 15}, {})
    assert section.process_count == 4
    # The named rows and `other` add up to every read process.
    assert section.all_processes().total == 2 * sum(sizes.values())
    # A process re-read with new figures, one gone: the sums follow.
    policies[1] = _policy(1, "p1", ResidentBytes({0: 100}, {}, {}))
    del policies[4]
    section = step.section(_snapshot(2), policies)
    assert [r.pid for r in section.processes] == [1, 2]
    assert section.other_processes == ResidentBytes({0: 20}, {1: 20}, {})
    assert section.processes[0].read_at == 2.0 and section.processes[1].read_at == 1.0
    for kind in RESIDENT_KINDS:
        every = sum(p.residence.kind_total(kind) for p in policies.values())
        assert section.all_processes().kind_total(kind) == every


def test_section_survives_the_codec(tmp_path: Path) -> None:
    step = ResidenceStep(sysfs=Path("tests/fixtures/sys-2node"), cgroup_root=tmp_path)
    snap = _snapshot(1, _workload(7, "app", {0: 10}))
    snap = Snapshot(
        1, 1.0, 1.0, "test", HostInfo(), snap.nodes, processes=snap.processes, residence=None
    )
    section = step.section(snap, {7: _policy(7, "app", ResidentBytes({1: 4096}))})
    assert section.processes[0].moved_share == 1.0  # allocated on 0, lives on 1
    with_section = Snapshot(
        1, 1.0, 1.0, "test", HostInfo(), (), processes=snap.processes, residence=section
    )
    assert snapshot_from_json(snapshot_to_json(with_section)) == with_section
    old = snapshot_to_json(snap).replace(',"residence":null', "")
    assert snapshot_from_json(old).residence is None  # an older capture still loads


def _bind_config() -> Config:
    return Config.model_validate(
        {
            "rules": [{"name": "app", "match": {"comm": "app"}, "placement": {"bind": [1]}}],
            "thresholds": {"min-pages": 100},
        }
    )


def test_resident_off_the_bind_nodes_is_a_finding_even_when_allocations_fit() -> None:
    snap = _snapshot(1, _workload(7, "app", {1: 1000}))  # allocations all on node 1
    kernel = _policy(7, "app", ResidentBytes({0: 3 * 2**20, 1: 2**20}), bind=True)
    findings = evaluate(snap, _bind_config(), {7: kernel})
    assert [f.kind for f in findings] == [RESIDENT_OUTSIDE_BIND]
    assert "75% of 4.0 MiB resident lives on node 0, outside bind:1" in findings[0].message
    assert findings[0].evidence["resident_bytes_by_node"] == {"0": 3 * 2**20, "1": 2**20}


def test_resident_on_the_bind_nodes_is_no_finding() -> None:
    snap = _snapshot(1, _workload(7, "app", {1: 1000}))
    kernel = _policy(7, "app", ResidentBytes({1: 2**20}), bind=True)
    assert evaluate(snap, _bind_config(), {7: kernel}) == ()


def _cgroup(path: str, pages: dict[int, int]) -> Workload:
    # One event per page, as order-0 allocations are counted.
    loc = Locality(pages, pages, local_pages=sum(pages.values()), local_events=sum(pages.values()))
    return Workload(f"cgroup:{path}", WorkloadKind.CGROUP, path, loc, loc, cgroup=path)


@pytest.mark.parametrize("columns", [False, True], ids=["tuple", "columns"])
def test_cgroups_are_read_within_their_budget_longest_unread_first(
    tmp_path: Path, columns: bool
) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "memory.numa_stat").write_text(V2_NUMA_STAT)
    rows = (_cgroup("/a", {1: 10}), _cgroup("/b", {0: 10}), _cgroup("/c", {0: 5}))
    cgroups = as_new_columns(rows) if columns else rows
    step = ResidenceStep(sysfs=tmp_path, cgroup_root=tmp_path, cgroup_reads_per_poll=2)

    def section(seq: int) -> ResidenceSection:
        snap = Snapshot(seq, float(seq), 1.0, "test", HostInfo(), (), cgroups=cgroups)
        return step.section(snap, {})

    first = section(1)
    assert [r.cgroup for r in first.cgroups] == ["/a", "/b"]
    # /a allocated on node 1 only; its numa_stat has 5 of its 15 MiB on node 0.
    a = first.cgroups[0]
    assert a.resident == parse_numa_stat(V2_NUMA_STAT, KIB4)
    assert a.resident.by_node() == {0: 5 * 2**20, 1: 10 * 2**20}
    assert a.moved_share == pytest.approx(1 / 3)
    second = section(2)
    assert {r.cgroup: r.read_at for r in second.cgroups} == {"/a": 2.0, "/b": 1.0, "/c": 2.0}
