"""Snapshots to and from plain JSON-able data (for `--json`, captures and replay).

The encoding follows the dataclasses in `numascope.snapshot.model` field by field, so a
new field with a default is all a schema change needs; readers of older data get
the default. Node-keyed mappings become JSON objects with string keys.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from numascope.errors import NumascopeError
from numascope.snapshot.model import Snapshot

T = TypeVar("T")


def encode(value: Any) -> Any:
    """Turn a snapshot (or any part of it) into JSON-able data."""
    names = _field_names(type(value))
    if names is not None:
        return {name: encode(getattr(value, name)) for name in names}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return [encode(v) for v in value]  # tuples, lists, WorkloadColumns
    return value


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None for any other type), looked up once per
    class: `dataclasses.fields` on every object was most of a capture's
    encoding time."""
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        names = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
        _FIELD_NAMES[cls] = names
        return names


def decode(cls: type[T], data: Any, where: str = "snapshot") -> T:
    """Rebuild a dataclass from `encode`'s output; raise NumascopeError naming the field."""
    return typing.cast(T, _decode_as(cls, data, where))


def _decode_as(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return data
    if origin in (typing.Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _decode_as(inner[0], data, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, Mapping):
            raise NumascopeError(f"{where}: expected an object, got {type(data).__name__}")
        kwargs = {}
        for name, hint, required in _fields(tp):
            if name in data:
                kwargs[name] = _decode_as(hint, data[name], f"{where}.{name}")
            elif required:
                raise NumascopeError(f"{where}: missing field '{name}'")
        return typing.cast(Any, tp)(**kwargs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            raise NumascopeError(f"{where}: unknown value {data!r}") from None
    if origin in (Mapping, dict, typing.Mapping):
        if not isinstance(data, Mapping):
            raise NumascopeError(f"{where}: expected an object")
        key_t, val_t = args
        out = {}
        for k, v in data.items():
            try:
                key = int(k) if key_t is int else k
            except ValueError:
                raise NumascopeError(f"{where}: key {k!r} is not a number") from None
            out[key] = _decode_as(val_t, v, f"{where}[{k}]")
        return out
    if origin in (tuple, Sequence) and not isinstance(data, list):
        raise NumascopeError(f"{where}: expected a list")
    # A Sequence is read back as the tuple it was written from.
    if origin is Sequence or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return tuple(_decode_as(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin is tuple:
        return tuple(
            _decode_as(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, data, strict=False))
        )
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise NumascopeError(f"{where}: expected a number")
        return float(data)
    if tp in (int, str, bool):
        if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
            raise NumascopeError(f"{where}: expected {tp.__name__}, got {type(data).__name__}")
        return data
    return data


@functools.cache
def _fields(tp: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type, required) per field; resolving type hints is slow, so once per class."""
    hints = typing.get_type_hints(tp)
    return tuple(
        (
            f.name,
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(tp)
    )


def snapshot_to_json(snapshot: Snapshot) -> str:
    """One line of JSON (no newlines inside), as `numascope snapshot --json` prints."""
    return json.dumps(encode(snapshot), separators=(",", ":"), sort_keys=False)


def snapshot_from_json(line: str, where: str = "snapshot") -> Snapshot:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise NumascopeError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    return decode(Snapshot, data, where)
