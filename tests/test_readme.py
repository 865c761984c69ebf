"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README shows no Python example"
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md block {i}", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "['startup table db.t1: 42 rows']" in out
    assert "Code: 722. Waited job failed: Code: 696. Load job 'startup table db.t2'" in out
