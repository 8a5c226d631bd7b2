from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from numascope.collectors.slab import SlabCollector, cache_name
from numascope.probes.slab import node_id_function


def value(objects: int, any_node: int, requested: list[int], name: bytes = b"") -> Any:
    return SimpleNamespace(
        objects=objects, any_node=any_node, requested=requested, name=name.ljust(32, b"\0")
    )


class Slab:
    def __init__(self, pairs: list[tuple[Any, list[Any]]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[Any, list[Any]]]:
        return self.pairs


def test_cache_names() -> None:
    assert cache_name(0, 192, b"") == "kmalloc-192"
    assert cache_name(1, 256, b"dentry\0junk") == "dentry"
    assert cache_name(1, 64, b"") == "kmalloc-64"
    assert cache_name(1, 8, b"bad\xff") == "bad\\xff"


def test_requested_node_against_cpu_node() -> None:
    dentry = SimpleNamespace(site=0xFFFF1, size=192, kind=1)
    km = SimpleNamespace(site=0, size=64, kind=0)
    tables = {
        "slab": Slab(
            [
                # CPU 0 (node 0) asked node 1 twice and node 0 once; CPU 1 (node 1) any.
                (dentry, [value(5, 2, [1, 2, 0], b"dentry"), value(3, 3, [0, 0, 0], b"dentry")]),
                (km, [value(10, 10, [0, 0, 0]), value(0, 0, [0, 0, 0])]),
            ]
        ),
        "slab_overflow": [[value(0, 0, [0, 0, 0]), value(4, 4, [0, 0, 0])]],
    }
    caches = {(c.cache, c.cpu_node): c for c in SlabCollector(tables, (0, 1), {0: 0, 1: 1}).read()}
    d0 = caches[("dentry", 0)]
    assert d0.objects.total == 5 and d0.any_node.total == 2
    assert d0.local_requested.total == 1 and d0.remote_requested.total == 2
    assert abs(d0.remote_share - 2 / 5) < 1e-9
    assert caches[("dentry", 1)].any_node.total == 3
    assert caches[("kmalloc-64", 0)].objects.total == 10
    assert caches[("other", 1)].objects.total == 4
    assert ("kmalloc-64", 1) not in caches  # no objects there


def test_node_id_switch_handles_sparse_ids() -> None:
    text = node_id_function((0, 2))
    assert "case 0: return 0;" in text and "case 2: return 1;" in text
    assert "default: return 2;" in text
