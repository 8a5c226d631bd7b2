from __future__ import annotations

from collections.abc import Iterator

import pytest

from numascope.collectors.live import LiveSource, open_live_source
from tests.conftest import require_root


@pytest.fixture(scope="module")
def live_source() -> Iterator[LiveSource]:
    require_root()
    source = open_live_source()
    try:
        yield source
    finally:
        source.close()
