"""Read a config file: YAML (safe loader only) validated into `Config`.

Every problem is reported as `FILE:LINE:COL: message`. pydantic reports where a
value went wrong as a path of keys and indexes; the YAML is also composed into
nodes (which carry their line and column) so that path can be walked back to
the text the user wrote.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from numascope.config.model import Config
from numascope.errors import NumascopeError

DEFAULT_CONFIG_PATH = Path("/etc/numascope/config.yaml")

Loc = tuple[int | str, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a config file, at a 1-based line and column."""

    line: int
    column: int
    message: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ConfigError(NumascopeError):
    """A config file that cannot be used. `str()` is the first problem, on one line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more: numascope check-config {first.file})" if more else ""
        super().__init__(f"{first}{suffix}")


@dataclass(frozen=True)
class ConfigDocument:
    """A validated config plus the YAML nodes it came from (for later checks)."""

    file: str
    config: Config
    root: yaml.Node | None

    def locate(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value at `loc` (or of its key, with `key=True`)."""
        return _locate(self.root, loc, key=key)

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        line, column = self.locate(loc, key=key)
        return Problem(line, column, message, self.file)


def _child(node: yaml.Node, segment: int | str) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of `segment` inside `node`, if it is there."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(segment):
                return key_node, value_node
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(segment, int)
        and 0 <= segment < len(node.value)
    ):
        item: yaml.Node = node.value[segment]
        return item, item
    return None


def _found(root: yaml.Node | None, loc: Loc) -> list[int | str]:
    """The leading segments of `loc` that exist in the YAML."""
    found: list[int | str] = []
    node = root
    for segment in loc:
        pair = _child(node, segment) if node is not None else None
        if pair is None:
            break
        node = pair[1]
        found.append(segment)
    return found


def _locate(root: yaml.Node | None, loc: Loc, *, key: bool = False) -> tuple[int, int]:
    node = root
    target = root
    for segment in loc:
        if node is None:
            break
        pair = _child(node, segment)
        if pair is None:
            break
        key_node, node = pair
        target = key_node if key else node
    if target is None:
        return 1, 1
    mark = target.start_mark
    return mark.line + 1, mark.column + 1


def _dotted(loc: Sequence[int | str]) -> str:
    text = ""
    for segment in loc:
        text += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return text.lstrip(".")


def _message(error_type: str, msg: str, loc: Loc, found: Sequence[int | str]) -> str:
    where = _dotted(found)
    prefix = f"{where}: " if where else ""
    if error_type == "extra_forbidden":
        return f"unknown key '{loc[-1]}'" + (f" in {_dotted(loc[:-1])}" if len(loc) > 1 else "")
    if error_type == "model_type":
        return f"{prefix}expected a mapping of keys to values"
    if error_type == "missing":
        return f"{prefix}missing required key '{loc[-1]}'"
    for noise in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(noise)
    return prefix + msg


def _validation_problems(exc: ValidationError, root: yaml.Node | None, file: str) -> list[Problem]:
    problems: set[Problem] = set()
    errors = exc.errors(include_url=False, include_input=False)
    deeper = {tuple(e["loc"][:n]) for e in errors for n in range(len(e["loc"]))}
    for error in errors:
        loc: Loc = tuple(error["loc"])
        if error["type"] == "too_short" and loc in deeper:
            continue  # the items themselves failed; their errors say more
        found = _found(root, loc)
        key = error["type"] == "extra_forbidden"
        line, column = _locate(root, loc, key=key)
        message = _message(error["type"], str(error["msg"]), loc, found)
        problems.add(Problem(line, column, " ".join(message.split()), file))
    return sorted(problems)


def _nodes(node: yaml.Node | None) -> Iterator[yaml.Node]:
    stack = [node] if node is not None else []
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue  # aliases share nodes; visit each once
        seen.add(id(current))
        yield current
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                stack.extend((k, v))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _duplicate_keys(root: yaml.Node | None, file: str) -> list[Problem]:
    # PyYAML keeps the last of two equal keys without a word; that hides typos.
    problems = []
    for node in _nodes(root):
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        mark = key_node.start_mark
                        problems.append(
                            Problem(
                                mark.line + 1,
                                mark.column + 1,
                                f"duplicate key '{key_node.value}'",
                                file,
                            )
                        )
                    seen.add(key_node.value)
    return problems


def _yaml_problem(exc: Exception, root: yaml.Node | None, file: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError):
        text = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    elif isinstance(exc, yaml.reader.ReaderError):
        text = f"cannot read the file as text: {exc.reason}"
    else:
        text = str(exc)
    if mark is None and isinstance(exc, ValueError):
        # The safe constructor raises a bare ValueError for an impossible date;
        # find the first timestamp scalar to point at.
        for node in _nodes(root):
            if node.tag == "tag:yaml.org,2002:timestamp":
                mark = node.start_mark
                break
        text = f"not a valid date or time ({text})"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(line, column, "YAML: " + " ".join(text.split()), file)


def parse_config(text: str, file: str = "<config>") -> ConfigDocument:
    """Validate YAML text; raise ConfigError listing every problem with its place."""
    root: yaml.Node | None = None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigError([_yaml_problem(exc, root, file)]) from None
    duplicates = _duplicate_keys(root, file)
    if data is None:
        data = {}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(duplicates + _validation_problems(exc, root, file)) from None
    except RecursionError:
        raise ConfigError([Problem(1, 1, "nested too deeply", file)]) from None
    if duplicates:
        raise ConfigError(duplicates)
    return ConfigDocument(file, config, root)


def read_config_file(path: str | Path) -> ConfigDocument:
    """Read and validate a config file; every failure is a ConfigError."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(1, 1, f"cannot read it: {exc.strerror}", file)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError([Problem(line, column, "not UTF-8 text", file)]) from None
    return parse_config(text, file)


def resolve_config_path(path: str | Path | None) -> Path | None:
    """The file to use: the one given, else the system one when present, else none."""
    if path is not None:
        return Path(path)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def load_config(path: str | Path | None = None) -> Config:
    """The config for `--config PATH` (None: the system file or the built-in default)."""
    resolved = resolve_config_path(path)
    if resolved is None:
        return Config()
    return read_config_file(resolved).config
