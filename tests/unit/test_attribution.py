"""Local vs remote attribution, naming and deltas, over crafted owner totals."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numascope.collectors import attribution, group_sums
from numascope.collectors.attribution import (
    RENAMES_PER_POLL,
    Attribution,
    Attributor,
)
from numascope.collectors.names import CgroupResolver, decode_comm, process_stat
from numascope.collectors.owner_table import CTX_OVERFLOW, CTX_SOFTIRQ, OwnerKey, OwnerTable
from numascope.probes.page_alloc import PageAllocLayout
from numascope.snapshot import columns as workload_columns
from numascope.snapshot.model import PodIdentity, Workload, WorkloadKind
from numascope.topology import read_topology
from tests.fakes.owner_objects import OwnerTotals, alive_rows, attribute, table_of

FIXTURES = Path(__file__).parent.parent / "fixtures"
TOPO = read_topology(FIXTURES / "sysfs" / "two-node")
LAYOUT = PageAllocLayout(TOPO.node_ids)
SLOTS = LAYOUT.count_slots  # node0: 0-3, node1: 4-7, unknown: 8-11


def totals(values: dict[int, tuple[int, int]], comm: bytes = b"") -> OwnerTotals:
    events, pages = [0] * SLOTS, [0] * SLOTS
    for slot, (ev, pg) in values.items():
        events[slot], pages[slot] = ev, pg
    return OwnerTotals(events, pages, comm)


def attributor(tmp_path: Path, proc: Path = FIXTURES / "proc") -> Attributor:
    return Attributor(TOPO, LAYOUT, proc=proc, sysfs=tmp_path, cgroups=CgroupResolver(tmp_path))


def attribute_moved(
    attr: Attributor, owners: dict[OwnerKey, OwnerTotals], moved: list[bool], now: float
) -> Attribution:
    """One poll in which only the owners marked in `moved` changed."""
    table = table_of(owners, SLOTS)
    table.changed[:] = moved
    return attr.attribute_table(table, alive_rows(table, {k.tgid for k in owners}), now=now)


def test_remote_and_local_pages(tmp_path: Path) -> None:
    owners = {
        # pid 4242 on a node-0 CPU: 10 order-0 pages from node 0, 4 events of
        # order 1-3 (32 pages) from node 1.
        OwnerKey(4242, 0, 0, 0): totals({0: (10, 10), 5: (4, 32)}, b"my app"),
    }
    a = attribute(attributor(tmp_path), owners, alive={4242}, now=1.0)
    (w,) = a.processes
    assert w.key == "pid:4242" and w.name == "my app" and w.kind is WorkloadKind.PROCESS
    assert w.total.local_pages == 10 and w.total.remote_pages == 32
    assert w.total.pages_by_node == {0: 10, 1: 32}
    assert w.total.events == 14
    assert abs(w.total.remote_ratio - 32 / 42) < 1e-9
    node0, node1 = a.nodes
    assert node0.total.local_pages == 10 and node0.total.remote_pages == 0
    assert node1.total.remote_pages == 32 and node1.total.pages_by_node == {0: 32}
    assert node1.pages_by_order["1-3"] == 32
    cells = {(c.cpu_node, c.page_node): c.total_pages for c in a.matrix}
    assert cells == {(0, 0): 10, (0, 1): 32}


def test_swapping_cpu_and_page_node_changes_the_verdict(tmp_path: Path) -> None:
    # A CPU on node 1 taking node-1 pages is local, not remote.
    owners = {OwnerKey(7, 0, 0, 1): totals({4: (5, 5)})}
    (w,) = attribute(attributor(tmp_path), owners, alive=set(), now=1.0).processes
    assert w.total.local_pages == 5 and w.total.remote_pages == 0
    assert not w.alive


def test_deltas_follow_totals(tmp_path: Path) -> None:
    attr = attributor(tmp_path)
    attribute(attr, {OwnerKey(1, 0, 0, 0): totals({0: (3, 3)})}, alive={1}, now=1.0)
    second = attribute(attr, {OwnerKey(1, 0, 0, 0): totals({0: (5, 5)})}, alive={1}, now=2.0)
    (w,) = second.processes
    assert w.total.pages == 5 and w.delta.pages == 2
    assert second.nodes[0].delta.pages == 2
    assert second.matrix[0].delta_pages == 2


def test_interrupts_kthreads_and_overflow_are_named(tmp_path: Path) -> None:
    owners = {
        OwnerKey(0, (CTX_SOFTIRQ << 16) | 3, 0, 0): totals({0: (1, 1)}),
        OwnerKey(2, 0, 0, 0): totals({0: (1, 1)}, b"kthreadd"),
        OwnerKey(0, CTX_OVERFLOW << 16, 0, 1): totals({4: (2, 2)}),
    }
    rows = {w.key: w for w in attribute(attributor(tmp_path), owners, {2}, 1.0).processes}
    assert rows["softirq:NET_RX"].name == "[softirq:NET_RX]"
    assert rows["softirq:NET_RX"].kind is WorkloadKind.SOFTIRQ
    assert rows["pid:2"].kind is WorkloadKind.KTHREAD
    assert rows["other"].kind is WorkloadKind.OTHER and rows["other"].total.pages == 2


def test_cgroup_ids_resolve_to_paths(tmp_path: Path) -> None:
    (tmp_path / "system.slice" / "db.service").mkdir(parents=True)
    cg_id = (tmp_path / "system.slice" / "db.service").stat().st_ino
    owners = {OwnerKey(9, 0, cg_id, 0): totals({4: (1, 1)}, b"db")}
    a = attribute(attributor(tmp_path), owners, {9}, 1.0)
    assert a.processes[0].cgroup == "/system.slice/db.service"
    (cg,) = a.cgroups
    assert cg.key == "cgroup:/system.slice/db.service" and cg.total.remote_pages == 1


def test_kernel_thread_flag_and_odd_comm() -> None:
    proc = FIXTURES / "proc"
    kthreadd, app = process_stat(2, proc=proc), process_stat(4242, proc=proc)
    assert kthreadd is not None and kthreadd.kernel_thread is True
    assert app is not None and app.kernel_thread is False  # "(my app)" has a space in it
    assert app.name == b"my app"
    assert process_stat(99999, proc=proc) is None


def test_deltas_of_unmoved_and_moved_workloads_and_liveness(tmp_path: Path) -> None:
    attr = attributor(tmp_path)
    still, busy = OwnerKey(1, 0, 0, 0), OwnerKey(2, 0, 0, 0)
    attribute(attr, {still: totals({0: (3, 3)}), busy: totals({0: (1, 1)})}, {1, 2}, 1.0)
    second = attribute(
        attr, {still: totals({0: (3, 3)}), busy: totals({0: (2, 2)})}, {1, 2}, 2.0
    ).processes
    assert [(w.key, w.delta.pages, w.total.pages) for w in second] == [
        ("pid:1", 0, 3),
        ("pid:2", 1, 2),
    ]
    # A node slot with a total stays in the delta's mappings, at zero.
    assert second[0].delta.pages_by_node == {0: 0}
    third = attribute(
        attr, {still: totals({0: (3, 3)}), busy: totals({0: (4, 4)})}, {1, 2}, 3.0
    ).processes
    assert [w.delta.pages for w in third] == [0, 2]
    fourth = attribute(attr, {still: totals({0: (3, 3)})}, {2}, 4.0).processes
    assert len(fourth) == 1 and not fourth[0].alive and fourth[0].delta.pages == 0


def test_a_poll_builds_a_workload_object_only_for_a_row_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []

    def counting(**fields: Any) -> Workload:
        built.append(fields["key"])
        return Workload(**fields)

    monkeypatch.setattr(workload_columns, "Workload", counting)
    attr = attributor(tmp_path)
    owners = {OwnerKey(p, 0, 0, p % 2): totals({4 * (p % 2): (p, p)}) for p in (11, 12, 13)}
    processes = attribute(attr, owners, {11, 12, 13}, 1.0).processes
    assert built == [] and len(processes) == 3
    assert processes.keys.tolist() == ["pid:11", "pid:12", "pid:13"]
    assert processes.delta_page_counts.tolist() == [11, 12, 13]
    assert processes.moved.tolist() == [True, True, True]
    twelve = processes.get("pid:12")
    assert twelve is not None and twelve.total.pages_by_node == {0: 12}
    assert twelve.total.local_pages == 12 and built == ["pid:12"]
    assert processes.get("pid:99") is None
    # Reading every row builds each of the others once; the one read stays the same.
    assert [w.key for w in processes] == ["pid:11", "pid:12", "pid:13"]
    assert processes[1] is twelve and processes[-1].total.pages_by_node == {1: 13}
    assert sorted(built) == ["pid:11", "pid:12", "pid:13"]
    assert processes == tuple(processes) and processes[0:2] == (processes[0], twelve)


def test_kind_columns_hold_workload_kinds(tmp_path: Path) -> None:
    # Views count kinds from the column without building rows (`.value`).
    (tmp_path / "app").mkdir()
    attr = attributor(tmp_path)
    cg = os.stat(tmp_path / "app").st_ino
    got = attribute(attr, {OwnerKey(31, 0, cg, 0): totals({0: (1, 1)})}, {31}, 1.0)
    kinds = [*got.processes.kinds.tolist(), *got.cgroups.kinds.tolist()]
    assert kinds == [WorkloadKind.PROCESS, WorkloadKind.CGROUP]
    assert all(isinstance(k, WorkloadKind) for k in kinds)


def test_owners_of_one_pid_on_several_cpu_nodes_add_up(tmp_path: Path) -> None:
    owners = {
        OwnerKey(5, 0, 0, 0): totals({0: (2, 2), 4: (1, 1)}, b"app"),
        OwnerKey(5, 0, 0, 1): totals({0: (3, 3), 4: (4, 4)}, b"app"),
        OwnerKey(6, 0, 0, 1): totals({4: (7, 7)}, b"other"),
    }
    a = attribute(attributor(tmp_path), owners, {5, 6}, 1.0)
    rows = {w.key: w for w in a.processes}
    app = rows["pid:5"].total
    # On node-0 CPUs: 2 local, 1 remote; on node-1 CPUs: 3 remote, 4 local.
    assert app.local_pages == 6 and app.remote_pages == 4
    assert app.pages_by_node == {0: 5, 1: 5}
    assert rows["pid:6"].total.local_pages == 7
    cells = {(c.cpu_node, c.page_node): c.total_pages for c in a.matrix}
    assert cells == {(0, 0): 2, (0, 1): 1, (1, 0): 3, (1, 1): 11}
    node1 = a.nodes[1].total
    assert node1.pages_by_node == {0: 1, 1: 11} and node1.local_pages == 11


def test_comm_ends_at_its_first_nul() -> None:
    # 6.1 kernels leave the tail of an older name after the terminating NUL.
    assert decode_comm(b"dd\x00hon\x00\x000:0") == "dd"
    assert decode_comm(b"bad\xff") == "bad\\xff"


def test_a_process_is_named_by_its_owner_that_moved_last(tmp_path: Path) -> None:
    # numactl on a node-0 CPU execs dd, which then runs on node 1: one owner per
    # CPU node, the older one still named numactl.
    attr = attributor(tmp_path)
    before = {
        OwnerKey(77, 0, 0, 0): totals({0: (5, 5)}, b"numactl"),
        OwnerKey(77, 0, 0, 1): totals({4: (9, 9)}, b"dd"),
    }
    attribute(attr, before, alive={77}, now=1.0)
    after = {
        OwnerKey(77, 0, 0, 0): totals({0: (5, 5)}, b"numactl"),
        OwnerKey(77, 0, 0, 1): totals({4: (90, 90)}, b"dd"),
    }
    (w,) = attribute_moved(attr, after, [False, True], now=2.0).processes
    assert w.name == "dd" and w.total.pages == 95


def test_a_live_process_whose_owners_disagree_is_named_as_proc_says(tmp_path: Path) -> None:
    # Both owners moved in the same poll (exec between CPU nodes mid-interval):
    # /proc/PID/comm of the live process settles it.
    proc = tmp_path / "proc"
    (proc / "88").mkdir(parents=True)
    (proc / "88" / "comm").write_bytes(b"thp_toucher\n")
    (proc / "88" / "stat").write_bytes(b"88 (thp_toucher) S 1 88 88 0 -1 4194560 0 0\n")
    attr = attributor(tmp_path, proc)
    owners = {
        OwnerKey(88, 0, 0, 0): totals({0: (5, 5)}, b"numactl"),
        OwnerKey(88, 0, 0, 1): totals({4: (9, 9)}, b"thp_toucher"),
    }
    (w,) = attribute(attr, owners, alive={88}, now=1.0).processes
    assert w.name == "thp_toucher"


def test_owners_disagreeing_on_the_name_are_read_again_beyond_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # numactl was named at an earlier poll; it then exec'd dd on the other CPU
    # node and both owners moved in this poll. Their names disagree, so /proc is
    # asked even when no rename budget is left.
    monkeypatch.setattr(attribution, "RENAMES_PER_POLL", 0)
    stat = tmp_path / "proc" / "89" / "stat"
    stat.parent.mkdir(parents=True)
    stat.write_bytes(b"89 (numactl) S 1 89 89 0 -1 4194560 0 0\n")
    attr = attributor(tmp_path, tmp_path / "proc")
    attribute(attr, {OwnerKey(89, 0, 0, 0): totals({0: (5, 5)}, b"numactl")}, {89}, 1.0)
    stat.write_bytes(b"89 (dd) S 1 89 89 0 -1 4194560 0 0\n")
    owners = {
        OwnerKey(89, 0, 0, 0): totals({0: (6, 6)}, b"numactl"),
        OwnerKey(89, 0, 0, 1): totals({4: (9, 9)}, b"dd"),
    }
    (w,) = attribute_moved(attr, owners, [True, True], now=2.0).processes
    assert w.name == "dd"


def test_a_process_and_its_cgroup_in_a_pod_carry_the_pod(tmp_path: Path) -> None:
    uid = "5b3a7c1e-2b8f-4d1a-9c3e-7f6a5d4c3b2a"
    cid = "ab" * 32
    pod = (
        tmp_path
        / "kubepods.slice/kubepods-burstable.slice"
        / f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    )
    (pod / f"cri-containerd-{cid}.scope").mkdir(parents=True)
    (tmp_path / "system.slice").mkdir()
    ids = [
        (pod / f"cri-containerd-{cid}.scope").stat().st_ino,
        (tmp_path / "system.slice").stat().st_ino,
    ]
    owners = {
        OwnerKey(1, 0, ids[0], 0): totals({0: (2, 2)}, b"app"),
        OwnerKey(2, 0, ids[1], 0): totals({0: (3, 3)}, b"sshd"),
    }
    a = attribute(attributor(tmp_path), owners, {1, 2}, 1.0)
    expected = PodIdentity(uid, cid, "burstable")
    assert {w.pid: w.pod for w in a.processes} == {1: expected, 2: None}
    assert {c.name: c.pod for c in a.cgroups} == {
        f"/{(pod / f'cri-containerd-{cid}.scope').relative_to(tmp_path)}": expected,
        "/system.slice": None,
    }


def test_every_owner_counts_in_its_cgroup(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    ids = {name: (tmp_path / name).stat().st_ino for name in ("a", "b")}
    owners = {
        OwnerKey(1, 0, ids["a"], 0): totals({0: (2, 2)}, b"x"),
        OwnerKey(2, 0, ids["b"], 0): totals({0: (3, 3)}, b"y"),
        OwnerKey(3, 0, ids["a"], 0): totals({0: (4, 4)}, b"z"),
    }
    a = attribute(attributor(tmp_path), owners, {1, 2, 3}, 1.0)
    assert {c.name: c.total.pages for c in a.cgroups} == {"/a": 6, "/b": 3}
    assert {w.pid: w.cgroup for w in a.processes} == {1: "/a", 2: "/b", 3: "/a"}


def test_a_process_in_two_cgroups_is_shown_in_the_one_with_most_pages(tmp_path: Path) -> None:
    for name in ("parent", "job"):
        (tmp_path / name).mkdir()
    ids = {name: (tmp_path / name).stat().st_ino for name in ("parent", "job")}
    owners = {
        OwnerKey(5, 0, ids["job"], 0): totals({0: (900, 900)}, b"w"),
        OwnerKey(5, 0, ids["parent"], 0): totals({0: (3, 3)}, b"w"),
    }
    (w,) = attribute(attributor(tmp_path), owners, {5}, 1.0).processes
    assert w.cgroup == "/job" and w.total.pages == 903


def test_a_live_process_is_named_by_its_leader_not_the_allocating_thread(tmp_path: Path) -> None:
    # The program reads the allocating thread's comm: a JVM's GC thread, or a
    # thread renamed by prctl(PR_SET_NAME). ps and top name the process by its
    # leader, and so does numascope while /proc has it; once gone, the
    # program's name is all there is.
    proc = tmp_path / "proc"
    for pid, name in ((5000, b"java"), (5001, b"renamed (main)")):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_bytes(
            str(pid).encode() + b" (" + name + b") S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0"
        )
    attr = attributor(tmp_path, proc)
    owners = {
        OwnerKey(5000, 0, 0, 0): totals({0: (1, 1)}, b"GC Thread#0"),
        OwnerKey(5001, 0, 0, 0): totals({0: (1, 1)}, b"python3"),
        OwnerKey(5002, 0, 0, 0): totals({0: (1, 1)}, b"gone"),
    }
    names = {w.key: w.name for w in attribute(attr, owners, {5000, 5001}, 1.0).processes}
    assert names == {"pid:5000": "java", "pid:5001": "renamed (main)", "pid:5002": "gone"}
    # Another thread of the same process allocating next poll: still the leader's name.
    owners[OwnerKey(5000, 0, 0, 0)] = totals({0: (2, 2)}, b"C2 CompilerThre")
    rows = {w.key: w for w in attribute(attr, owners, {5000, 5001}, 2.0).processes}
    assert rows["pid:5000"].name == "java" and rows["pid:5000"].kind is WorkloadKind.PROCESS


def test_a_leader_renamed_after_it_was_named_shows_its_new_name(tmp_path: Path) -> None:
    # The program's comm for the owner does not change (its CPU cache opened
    # before the rename), so only /proc can tell; a moving process asks again.
    stat = tmp_path / "proc" / "6000" / "stat"
    stat.parent.mkdir(parents=True)
    stat.write_bytes(b"6000 (before) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0")
    attr = attributor(tmp_path, tmp_path / "proc")
    owner = OwnerKey(6000, 0, 0, 0)
    (w,) = attribute(attr, {owner: totals({0: (1, 1)}, b"before")}, {6000}, 1.0).processes
    assert w.name == "before"
    stat.write_bytes(b"6000 (after) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0")
    (w,) = attribute(attr, {owner: totals({0: (2, 2)}, b"before")}, {6000}, 2.0).processes
    assert w.name == "after"
    # A poll in which it does not move keeps the row as it was; the next move keeps the name.
    (w,) = attribute(attr, {owner: totals({0: (2, 2)}, b"before")}, {6000}, 3.0).processes
    assert w.name == "after"
    (w,) = attribute(attr, {owner: totals({0: (3, 3)}, b"before")}, {6000}, 4.0).processes
    assert w.name == "after"


def test_names_are_read_again_for_a_bounded_number_of_processes_per_poll(
    tmp_path: Path,
) -> None:
    proc = tmp_path / "proc"
    pids = range(7000, 7000 + 3 * RENAMES_PER_POLL)
    for pid in pids:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_bytes(b"%d (old) S 1 1 1 0 -1 0 0" % pid)
    attr = attributor(tmp_path, proc)
    alive = set(pids)
    attribute(attr, {OwnerKey(p, 0, 0, 0): totals({0: (1, 1)}) for p in pids}, alive, 1.0)
    for pid in pids:
        (proc / str(pid) / "stat").write_bytes(b"%d (new) S 1 1 1 0 -1 0 0" % pid)
    renamed = []
    for poll in range(3):
        owners = {OwnerKey(p, 0, 0, 0): totals({0: (poll + 2, poll + 2)}) for p in pids}
        names = [w.name for w in attribute(attr, owners, alive, 2.0 + poll).processes]
        renamed.append(names.count("new"))
    # A third more every poll, until all of them.
    assert renamed == [RENAMES_PER_POLL, 2 * RENAMES_PER_POLL, 3 * RENAMES_PER_POLL]


def same_rows(table: OwnerTable, before: OwnerTable, moved: list[bool]) -> OwnerTable:
    """`table` as the collector hands it over when its rows hold the owners they
    held in `before`: the same serials, and only the `moved` rows changed."""
    table.changed[:] = moved
    return dataclasses.replace(table, serials=before.serials)


def test_only_rows_holding_a_new_owner_or_renamed_are_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attr = attributor(tmp_path)
    looked: list[OwnerKey] = []
    identify = attr.names.identify

    def counting(owner: OwnerKey, comm: bytes) -> object:
        looked.append(owner)
        return identify(owner, comm)

    monkeypatch.setattr(attr.names, "identify", counting)
    keys = [OwnerKey(7001, 0, 0, 0), OwnerKey(7002, 0, 0, 0), OwnerKey(7003, 0, 0, 0)]
    first = table_of({k: totals({0: (1, 1)}, b"a") for k in keys}, SLOTS)
    attr.attribute_table(first, alive_rows(first, {7001, 7002, 7003}), 1.0)
    assert looked == keys
    looked.clear()

    owners = {k: totals({0: (1 + (k.tgid == 7002), 1 + (k.tgid == 7002))}, b"a") for k in keys}
    second = same_rows(table_of(owners, SLOTS), first, [False, True, False])
    rows = {
        w.key: w
        for w in attr.attribute_table(second, alive_rows(second, {7001, 7002, 7003}), 2.0).processes
    }
    # A row that only moved keeps the workload it was identified with.
    assert looked == []
    assert rows["pid:7002"].delta.pages == 1 and rows["pid:7001"].delta.pages == 0
    looked.clear()

    # A name that changed without the totals moving is looked at (and shown).
    owners[keys[2]] = totals({0: (1, 1)}, b"renamed")
    third = same_rows(table_of(owners, SLOTS), first, [False, False, False])
    third.renamed[2] = True
    rows = {
        w.key: w
        for w in attr.attribute_table(third, alive_rows(third, {7001, 7002, 7003}), 3.0).processes
    }
    assert looked == [keys[2]]
    assert rows["pid:7003"].name == "renamed"
    looked.clear()

    # Another owner in a row (a freed row reused) is another serial: looked at.
    fourth = table_of(owners, SLOTS)
    fourth.changed[:] = False
    attr.attribute_table(fourth, alive_rows(fourth, {7001, 7002, 7003}), 4.0)
    assert looked == keys


def test_a_forgotten_pid_on_a_row_it_held_is_a_new_workload(tmp_path: Path) -> None:
    attr = attributor(tmp_path)
    owner = OwnerKey(7100, 0, 0, 0)
    first = table_of({owner: totals({0: (3, 3)}, b"old")}, SLOTS)
    (w,) = attr.attribute_table(first, alive_rows(first, {7100}), 1.0).processes
    assert w.name == "old" and w.delta.pages == 3
    attr.forget_pids({7100})
    table = table_of({owner: totals({0: (3, 3)}, b"new")}, SLOTS)
    second = same_rows(table, first, [False])
    (w,) = attr.attribute_table(second, alive_rows(second, {7100}), 2.0).processes
    # Nothing of the old process carries over: its name, and the delta's baseline.
    assert w.name == "new" and w.delta.pages == 3


def test_a_workload_that_goes_and_comes_back_counts_its_delta_from_zero(tmp_path: Path) -> None:
    attr = attributor(tmp_path)
    a, b = OwnerKey(7200, 0, 0, 0), OwnerKey(7201, 0, 0, 0)
    attribute(attr, {a: totals({0: (2, 2)}), b: totals({0: (1, 1)})}, {7200, 7201}, 1.0)
    attribute(attr, {b: totals({0: (1, 1)})}, {7200, 7201}, 2.0)
    rows = {
        w.key: w
        for w in attribute(
            attr, {a: totals({0: (2, 2)}), b: totals({0: (1, 1)})}, {7200, 7201}, 3.0
        ).processes
    }
    assert rows["pid:7200"].delta.pages == 2 and rows["pid:7201"].delta.pages == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=200))
def test_distinct_slots_are_what_np_unique_gives(values: list[int]) -> None:
    array = np.array(values, dtype=np.intp)
    distinct, inverse = group_sums.distinct(array)
    expected, expected_inverse = np.unique(array, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1, 7]),  # CPU node (7: on no node of the layout)
            st.lists(st.integers(0, 1 << 40), min_size=SLOTS, max_size=SLOTS),
            st.lists(st.sampled_from([0, 1, 1 << 40]), min_size=SLOTS, max_size=SLOTS),
        ),
        max_size=30,
    )
)
def test_counts_by_node_and_split_are_what_the_slots_add_up_to(
    rows: list[tuple[int, list[int], list[int]]],
) -> None:
    attr = Attributor(TOPO, LAYOUT, proc=FIXTURES / "proc")
    cpu = np.array([r[0] for r in rows], dtype=np.int64)
    pages = np.array([r[1] for r in rows], dtype=np.int64).reshape(-1, SLOTS)
    events = np.array([r[2] for r in rows], dtype=np.int64).reshape(-1, SLOTS)
    counts, slot_pages = attr._counts(pages, events, cpu)
    got = counts.tolist()
    nodes = [*LAYOUT.node_ids, -1]
    orders = LAYOUT.order_classes
    # A slot's pages count once it has an event.
    counted = [[p if e else 0 for p, e in zip(r[1], r[2], strict=True)] for r in rows]
    assert slot_pages.tolist() == [sum(c[i] for c in counted) for i in range(SLOTS)]
    for (cpu_node, _, row_events), row_pages, counts in zip(rows, counted, got, strict=True):
        expected = []
        for values in (row_pages, row_events):
            expected.append([sum(values[s * orders : (s + 1) * orders]) for s in range(len(nodes))])
        local = [
            sum(by_node[s] for s, node in enumerate(nodes) if node == cpu_node and node >= 0)
            for by_node in expected
        ]
        split = [local[0], sum(expected[0]) - local[0], local[1], sum(expected[1]) - local[1]]
        assert counts == [*expected[0], *expected[1], *split]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=0, max_size=60), st.integers(1, 12))
def test_sums_by_group_are_the_plain_sums(groups: list[int], width: int) -> None:
    # As the callers give it: every group in range has a row.
    group = np.unique(np.array(groups, dtype=np.intp), return_inverse=True)[1].reshape(-1)
    count = int(group.max()) + 1 if len(group) else 0
    values = np.arange(len(groups) * width, dtype=np.int64).reshape(len(groups), width) * 3
    got = group_sums.sum_rows(group, values, count)
    expected = np.zeros((count, width), dtype=np.int64)
    for g, row in zip(group.tolist(), values, strict=True):
        expected[g] += row
    assert got.tolist() == expected.tolist()


def test_a_cgroup_not_found_yet_is_looked_up_again_and_then_kept(tmp_path: Path) -> None:
    root, outside = tmp_path / "cgroup", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    ino = outside.stat().st_ino  # the id its cgroup will have
    attr = Attributor(TOPO, LAYOUT, proc=FIXTURES / "proc", cgroups=CgroupResolver(root))
    owners = {OwnerKey(4242, 0, ino, 0): totals({0: (1, 1)})}
    first = table_of(owners, SLOTS)
    (w,) = attr.attribute_table(first, alive_rows(first, {4242}), 1.0).processes
    assert w.cgroup == f"id:{ino}"
    outside.rename(root / "late.service")  # the same inode, now in the hierarchy
    second = same_rows(table_of(owners, SLOTS), first, [False])
    (w,) = attr.attribute_table(second, alive_rows(second, {4242}), 2.0).processes
    assert w.cgroup == "/late.service"
    (root / "late.service").rename(tmp_path / "gone")  # found once: kept for the row
    third = same_rows(table_of(owners, SLOTS), first, [False])
    (w,) = attr.attribute_table(third, alive_rows(third, {4242}), 3.0).processes
    assert w.cgroup == "/late.service"


def test_unchanged_identity_columns_are_handed_out_again(tmp_path: Path) -> None:
    attr = attributor(tmp_path)
    owners = {OwnerKey(4242, 0, 0, 0): totals({0: (1, 1)}, b"my app")}
    first = table_of(owners, SLOTS)
    a = attr.attribute_table(first, alive_rows(first, {4242}), 1.0).processes
    second = same_rows(table_of(owners, SLOTS), first, [True])
    b = attr.attribute_table(second, alive_rows(second, {4242}), 2.0).processes
    assert np.shares_memory(a.names, b.names) and b[0].name == "my app"
    attr.forget_pids({4242})
    third = table_of(owners, SLOTS)  # new serials: a new owner
    c = attr.attribute_table(third, alive_rows(third, {4242}), 3.0).processes
    assert not np.shares_memory(a.names, c.names)
