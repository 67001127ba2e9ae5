from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from checker.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
