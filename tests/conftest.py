import copy
from typing import Any

import pytest

from support import MINIMAL


@pytest.fixture
def config() -> dict[str, Any]:
    """A small valid config (values keyed without the `aion:` namespace), to mutate."""
    return copy.deepcopy(MINIMAL)
