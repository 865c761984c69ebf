"""Timing helpers shared by the benchmark modules: medians of repeated runs, one table out."""

from __future__ import annotations

import gc
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Figure:
    """One row of the results table."""

    name: str
    value: float
    unit: str
    peer: str = ""
    peer_value: float | None = None
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.peer_value is None or self.value == 0:
            return None
        return self.peer_value / self.value


def median_time(run: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None
                ) -> float:
    """Median wall time of ``run`` over ``repeat`` runs; ``setup`` runs untimed before each.

    ``setup`` returns the argument passed to ``run`` (or None).  Garbage collection runs
    before each timing so one run's garbage is not charged to the next.
    """
    times = []
    for _ in range(repeat):
        arg = setup() if setup is not None else None
        gc.collect()
        start = time.perf_counter()
        run(arg) if setup is not None else run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_median_times(first: Callable[[], object], second: Callable[[], object], repeat: int
                        ) -> tuple[float, float]:
    """Median times of two calls run alternately, so drift and warm-up hit both alike."""
    a, b = interleaved_medians([(first, None), (second, None)], repeat)
    return a, b


def interleaved_medians(runs: Sequence[tuple[Callable[..., object], Callable[[], object] | None]],
                        repeat: int) -> list[float]:
    """Median wall times of several ``(run, setup)`` pairs, run round-robin ``repeat`` times
    so that drift and warm-up hit every contender alike.  ``setup`` (untimed) returns the
    argument passed to ``run``; None means ``run`` takes no argument."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for (run, setup), into in zip(runs, times, strict=True):
            arg = setup() if setup is not None else None
            gc.collect()
            start = time.perf_counter()
            run(arg) if setup is not None else run()
            into.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def whole_process(*args: str, timeout: float = 300) -> Callable[[], None]:
    """A run of the command ``args`` as a whole process, its output discarded.

    Popen.wait(timeout=...) polls with sleeps that double up to 50 ms, which rounds every wall
    time up to 63.5 ms, 113.5 ms, ...: wait blocking, and let a timer kill a hang instead.
    """
    def run() -> None:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            if process.wait() != 0:
                raise subprocess.CalledProcessError(process.returncode, args)
        finally:
            watchdog.cancel()
    return run
