"""Fixtures for the history writer's tests.

``fake`` is a real AsyncLoader behind a stand-in journal (tests/history/fakes.py) for the
writer's own logic; ``loader`` is a real loader with its real journal, for the end-to-end tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeLoader  # noqa: E402
from history_testkit import make_real_loader  # noqa: E402

from loader import AsyncLoader, Pool  # noqa: E402


@pytest.fixture
def fake():
    real = AsyncLoader([Pool("default", 2)])
    try:
        yield FakeLoader(real)
    finally:
        real.shutdown()


@pytest.fixture
def loader():
    real = make_real_loader()
    try:
        yield real
    finally:
        real.shutdown()


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "history"
