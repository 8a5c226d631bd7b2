"""The web config file: TLS and basic auth, in Prometheus exporter-toolkit's format.

    tls_server_config:
      cert_file: /etc/numascope/tls.crt
      key_file: /etc/numascope/tls.key
    basic_auth_users:
      prometheus: $2y$10$...   # a bcrypt hash (htpasswd -nBC 10 "" | tr -d ':')

The same file works for node_exporter, so one hardening recipe covers both. A
mistake is reported in one line naming the file, the line and the field.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import yaml

from numascope.errors import NumascopeError
from numascope.exporters.prometheus.basic_auth import BasicAuth

_SECTIONS = {"tls_server_config": ("cert_file", "key_file"), "basic_auth_users": None}


def _where(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _scalar(path: Path, node: yaml.Node, field_name: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not node.value:
        raise NumascopeError(f"{_where(path, node)}: {field_name}: expected a non-empty string")
    return str(node.value)


def _mapping(
    path: Path, node: yaml.Node, field_name: str
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """(name, key node, value node) for each entry; a repeated key is an error."""
    if not isinstance(node, yaml.MappingNode):
        raise NumascopeError(f"{_where(path, node)}: {field_name}: expected a mapping")
    out = []
    seen = set()
    for key, value in node.value:
        name = _scalar(path, key, field_name + " key")
        if name in seen:
            raise NumascopeError(f"{_where(path, key)}: {field_name}.{name}: given twice")
        seen.add(name)
        out.append((name, key, value))
    return out


def _check_hash(path: Path, node: yaml.Node, user: str) -> bytes:
    field_name = f"basic_auth_users.{user}"
    hashed = _scalar(path, node, field_name).encode()
    try:
        bcrypt.checkpw(b"", hashed)  # raises on anything that is not a bcrypt hash
    except ValueError:
        raise NumascopeError(
            f"{_where(path, node)}: {field_name}: not a bcrypt hash "
            "(make one with: htpasswd -nBC 10 '' | tr -d ':')"
        ) from None
    return hashed


@dataclass(frozen=True)
class WebConfig:
    """TLS files and users; empty means plain HTTP without auth."""

    cert_file: Path | None = None
    key_file: Path | None = None
    users: Mapping[str, bytes] = field(default_factory=dict)
    auth: BasicAuth = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "auth", BasicAuth(self.users))

    @property
    def tls(self) -> bool:
        return self.cert_file is not None

    def ssl_context(self) -> ssl.SSLContext:
        """A server context holding the certificate and key as they are on disk now."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise NumascopeError(
                f"tls_server_config: cannot load {self.cert_file} / {self.key_file}: {reason}"
            ) from None
        return context

    def authorized(self, user: str, password: str) -> bool:
        """Whether the credentials match; no users configured means everyone is."""
        return not self.users or self.auth.check(user, password)


def load_web_config(path: str | Path) -> WebConfig:
    """Parse the web config file; raise NumascopeError naming file, line and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise NumascopeError(f"{p}: {reason}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not YAML"
        raise NumascopeError(f"{p}{line}: {problem}") from None
    if root is None:
        return WebConfig()
    users: dict[str, bytes] = {}
    cert_file = key_file = None
    for section, key, node in _mapping(p, root, "web config"):
        if section not in _SECTIONS:
            raise NumascopeError(
                f"{_where(p, key)}: {section}: unknown field "
                "(known: tls_server_config, basic_auth_users)"
            )
        if section == "basic_auth_users":
            for user, _, hashed in _mapping(p, node, section):
                users[user] = _check_hash(p, hashed, user)
            continue
        entries = _mapping(p, node, section)
        fields = {name: value for name, _, value in entries}
        for name, key_node, _ in entries:
            if name not in ("cert_file", "key_file"):
                raise NumascopeError(
                    f"{_where(p, key_node)}: {section}.{name}: not supported "
                    "(numascope reads cert_file and key_file)"
                )
        for name in ("cert_file", "key_file"):
            if name not in fields:
                raise NumascopeError(f"{_where(p, node)}: {section}.{name}: missing")
        base = p.parent
        cert_file = base / _scalar(p, fields["cert_file"], f"{section}.cert_file")
        key_file = base / _scalar(p, fields["key_file"], f"{section}.key_file")
    return WebConfig(cert_file, key_file, users)
