"""Fixtures for the ``asl`` command's tests.

``asl`` runs the installed console script in a subprocess, the way a user (and CI) runs it; a
test that needs an exact loader state uses ``startup_state`` through a ``FakeLoader`` instead.
Every subprocess has a timeout, so a hang fails the test instead of the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from cli_testkit import TIMEOUT, asl_command  # noqa: E402 - after the sys.path line


@pytest.fixture
def asl_argv() -> list[str]:
    """The command line that starts ``asl``, for tests that need their own subprocess setup."""
    return asl_command()


@pytest.fixture
def asl():
    """Run ``asl ARGS`` -> CompletedProcess (text, captured), bounded by TIMEOUT."""

    def run(*args: str, stdin: str | None = None, env: dict | None = None,
            cwd: str | None = None) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if k != "ASL_URL"}
        full_env.update({"TZ": "UTC", **(env or {})})
        return subprocess.run([*asl_command(), *args], input=stdin, capture_output=True,
                              text=True, timeout=TIMEOUT, env=full_env, cwd=cwd,
                              stdin=None if stdin is not None else subprocess.DEVNULL)

    return run
