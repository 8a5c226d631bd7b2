"""Things a guest test asks the host to do to its guest, such as plugging in memory.

Some changes can only come from outside the guest: a DIMM appears when qemu is
told to add one. The guest test writes a request into the folder it shares with
the host (`request-<n>.json`) and waits for `reply-<n>.json`; the host side
(tests/vm/guest_runner.py, while the guest runs) carries the request out through
qemu's QMP socket and answers. Both files are written whole and then renamed, so
neither side ever reads half of one.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

QMP_SOCKET = "qmp.sock"  # in the guest's shared folder, on the host
HOT_ADD_MEMORY = "hot_add_memory"


def _write_whole(path: Path, record: Mapping[str, object]) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(record))
    os.replace(part, path)


# Guest side


def ask_host(folder: Path, action: str, patience: float = 120.0, **arguments: object) -> Any:
    """Ask the host to do `action` to this guest; its answer, or AssertionError."""
    number = len(list(folder.glob("request-*.json"))) + 1
    _write_whole(folder / f"request-{number}.json", {"action": action, **arguments})
    reply = folder / f"reply-{number}.json"
    deadline = time.monotonic() + patience
    while not reply.exists():
        assert time.monotonic() < deadline, f"the host never answered {action} {arguments}"
        time.sleep(0.2)
    answer = json.loads(reply.read_text())
    assert "error" not in answer, f"the host could not {action} {arguments}: {answer['error']}"
    return answer.get("result")


# Host side


class Qmp:
    """A minimal QMP client: one command at a time, events skipped."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.stream = self.sock.makefile("rw", encoding="utf-8")
        greeting = json.loads(self.stream.readline())
        if "QMP" not in greeting:
            raise OSError(f"not a QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments: object) -> Any:
        message: dict[str, object] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.stream.write(json.dumps(message) + "\n")
        self.stream.flush()
        while True:
            line = self.stream.readline()
            if not line:
                raise OSError(f"qemu closed QMP during {command}")
            answer = json.loads(line)
            if "event" in answer:
                continue
            if "error" in answer:
                raise OSError(f"{command}: {answer['error'].get('desc', answer['error'])}")
            return answer.get("return")

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


def _hot_add_memory(qmp: Qmp, number: int, node: int, mib: int) -> object:
    """A RAM backend of `mib` MiB plugged in as a DIMM on `node` (ACPI tells the guest)."""
    backend, dimm = f"hotadd-mem{number}", f"hotadd-dimm{number}"
    qmp.execute("object-add", **{"qom-type": "memory-backend-ram", "id": backend}, size=mib << 20)
    qmp.execute("device_add", driver="pc-dimm", id=dimm, memdev=backend, node=node)
    for device in qmp.execute("query-memory-devices"):
        data = device.get("data", {})
        if data.get("id") == dimm:
            return {"addr": data["addr"], "size": data["size"], "node": data["node"]}
    raise OSError(f"{dimm} is not among qemu's memory devices after device_add")


def serve_requests(workdir: Path) -> list[str]:
    """Carry out the guest's new requests; a note for each, for the run's summary."""
    notes = []
    for request in sorted(workdir.glob("request-*.json")):
        number = int(request.stem.split("-", 1)[1])
        reply = workdir / f"reply-{number}.json"
        if reply.exists():
            continue
        try:
            record = json.loads(request.read_text())
            action = record.pop("action")
            if action != HOT_ADD_MEMORY:
                raise ValueError(f"unknown request {action!r}")
            qmp = Qmp(workdir / QMP_SOCKET)
            try:
                result = _hot_add_memory(qmp, number, int(record["node"]), int(record["mib"]))
            finally:
                qmp.close()
            answer: dict[str, object] = {"result": result}
            notes.append(f"guest asked {action} {record}: done, {result}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            answer = {"error": str(exc) or repr(exc)}
            notes.append(f"guest request {request.name} failed: {answer['error']}")
        _write_whole(reply, answer)
    return notes
