"""What the ``asl`` command's tests share outside fixtures: the subprocess time limit and the
command line that starts ``asl``.  A module of its own (not conftest), so a test module can
import it by name whichever ``conftest`` pytest imported last."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

#: Subprocess wall-clock limit: generous for a loaded 2-core box, far below pytest's timeout.
TIMEOUT = 60


def asl_command() -> list[str]:
    """The installed console script (next to this interpreter first), else ``-m cli.main``."""
    script = Path(sys.executable).with_name("asl")
    if script.exists():
        return [str(script)]
    found = shutil.which("asl")
    return [found] if found else [sys.executable, "-m", "cli.main"]
