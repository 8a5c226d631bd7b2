"""The JSON Schema of the config file, for editors and `check-config --schema`.

`config.schema.json` at the top of the repository is this output; a unit test
keeps it current. Regenerate with `numascope check-config --schema > config.schema.json`.
"""

from __future__ import annotations

import json
from typing import Any

from numascope.config.model import Config


def config_json_schema() -> dict[str, Any]:
    """The schema as a dict (keys as written in YAML)."""
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "numascope config"
    return schema


def config_json_schema_text() -> str:
    """The schema as the checked-in file holds it."""
    return json.dumps(config_json_schema(), indent=2, sort_keys=True) + "\n"
