"""``asl --help`` starts fast because nothing heavy is imported until a command runs.

The wall-clock figure (<= 0.3 s) is a benchmark, not a test; what a test can hold without
timing is its cause: the heavy packages stay out of ``sys.modules``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pyarrow", "duckdb", "sqlglot", "loader", "sqlbridge", "numpy", "pandas", "chdb")

PROBE = """
import sys
from cli.main import main
code = main({args!r})
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
print('HEAVY', heavy, 'CODE', code)
"""


@pytest.mark.parametrize("args", [["--help"], ["sql", "--help"], ["query", "--help"],
                                  ["graph", "--help"], ["demo", "--help"], ["query", "--list"],
                                  ["--version"]])
def test_help_imports_nothing_heavy(args):
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=60)
    assert "HEAVY [] CODE 0" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("args", [[], ["sql", "SELECT 1"], ["query", "nosuch"]])
def test_usage_errors_import_nothing_heavy(args):
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=60)
    assert "HEAVY [] CODE 2" in done.stdout, done.stdout + done.stderr
