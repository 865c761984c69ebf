"""A smoke run of every benchmark at tiny size, so they never rot (no timing assertions)."""

from __future__ import annotations

import importlib
import math

import pytest

from benchmarks.run import MODULES, format_table


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_runs_at_tiny_size(name):
    module = importlib.import_module(f"benchmarks.bench_{name}")
    figures = module.run(scale=0.002, repeat=1)
    assert figures
    for figure in figures:
        assert math.isfinite(figure.value) and figure.value >= 0, figure
        if figure.peer_value is not None:
            assert math.isfinite(figure.peer_value) and figure.peer_value >= 0, figure
    table = format_table(figures)
    assert all(f.name in table for f in figures)


def test_bytecode_counts_run_at_tiny_size(monkeypatch, capsys):
    from benchmarks import opcodes

    monkeypatch.setattr(opcodes, "JOBS", 200)
    assert opcodes.main() == 0
    out = capsys.readouterr().out
    for what in ("schedule()", "worker"):
        line = next(line for line in out.splitlines() if line.startswith(what))
        assert 50 < float(line.split(": ")[1].split()[0]) < 5000, line
