"""The config file: placement rules, thresholds and view settings.

`load_config(path)` is what commands call; `parse_config` and
`read_config_file` keep the YAML nodes for `check-config`.
"""

from numascope.config.holder import PolicyHolder
from numascope.config.loader import (
    DEFAULT_CONFIG_PATH,
    ConfigDocument,
    ConfigError,
    Problem,
    load_config,
    parse_config,
    read_config_file,
    resolve_config_path,
)
from numascope.config.model import (
    PLACEMENT_KINDS,
    Config,
    DefaultRule,
    Match,
    Placement,
    Rule,
    Thresholds,
)
from numascope.config.schema import config_json_schema

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "PLACEMENT_KINDS",
    "Config",
    "ConfigDocument",
    "ConfigError",
    "DefaultRule",
    "Match",
    "Placement",
    "PolicyHolder",
    "Problem",
    "Rule",
    "Thresholds",
    "config_json_schema",
    "load_config",
    "parse_config",
    "read_config_file",
    "resolve_config_path",
]
