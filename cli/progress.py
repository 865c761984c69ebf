"""A progress bar on stderr for a running loader, redrawn in place on a terminal.

It counts finished jobs by reading each job's status (no lock: a job's status is one attribute
read) and reads ``pool_snapshot()`` (a few ints per pool), ten times a second; for the
thousands of jobs of a demo that is well under a millisecond.  When stderr is not a terminal
(CI, a pipe, a test) a bar redrawn with ``\\r`` would be noise, so it writes a plain line every
quarter.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO

_WIDTH = 20
#: The server's pools, shortened so the bar fits a line.
_SHORT = {"ForegroundLoad": "FG", "BackgroundLoad": "BG", "BackgrndStartup": "St"}


class ProgressBar:
    def __init__(self, loader: Any, jobs: list[Any], stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.loader = loader
        self.jobs = jobs
        self.total = max(len(jobs), 1)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.started = time.monotonic()
        self._last_quarter = -1

    def done_jobs(self) -> int:
        """Jobs finished (OK, FAILED or CANCELED); scheduled or not yet, the rest."""
        return sum(1 for job in self.jobs if job.status)

    def draw(self, note: str = "") -> None:
        if not self.enabled:
            return
        done = min(self.done_jobs(), self.total)
        fraction = done / self.total
        elapsed = time.monotonic() - self.started
        if self.tty:
            filled = int(_WIDTH * fraction)
            pools = " ".join(f"{_SHORT.get(r['pool'], r['pool'][:6])} "
                             f"{r['executing_jobs']}/{r['ready_jobs']}"
                             for r in self.loader.pool_snapshot().to_pylist())
            line = (f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {fraction:4.0%} "
                    f"{done}/{self.total} jobs {elapsed:4.1f}s | run/ready {pools}"
                    f"{' | ' + note if note else ''}")
            width = shutil.get_terminal_size((100, 24)).columns - 1
            self.stream.write("\r" + line[:width] + "\x1b[K")
            self.stream.flush()
            return
        quarter = int(fraction * 4)
        if quarter > self._last_quarter:
            self._last_quarter = quarter
            self.stream.write(f"progress: {fraction:.0%} ({done}/{self.total} jobs, "
                              f"{elapsed:.1f} s){'  ' + note if note else ''}\n")
            self.stream.flush()

    def finish(self) -> None:
        if not self.enabled:
            return
        self.draw()
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
