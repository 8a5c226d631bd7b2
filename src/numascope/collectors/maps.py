"""What a collector reads its kernel maps through.

A collector takes a loaded program's maps as a parameter (a `bcc.BPF` object
in production, a stand-in with the same interface in tests), so everything
after the probes runs without root and without a kernel. The maps themselves
are bcc's table objects, whose methods differ by map type; what a collector
needs of the whole is said here.
"""

from __future__ import annotations

from typing import Any, Protocol


class MapTables(Protocol):
    """A loaded program's maps, by name."""

    def __getitem__(self, name: str) -> Any: ...


class SymbolTables(MapTables, Protocol):
    """Maps of a program that records kernel stacks, and the kernel's symbols."""

    def ksym(self, address: int, show_offset: bool = False) -> bytes: ...
