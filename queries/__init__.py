"""The saved diagnostic queries: one ``NAME.sql`` file each, shipped inside the package.

A file opens with ``--`` comment lines: the first says what the query answers (that line is
what ``asl query --list`` shows), the others explain how to read it.  A comment line
``-- default format: Vertical`` picks the format used when the user names none.  Parameters
use ClickHouse's ``{name:Type}`` placeholders.

Only the standard library is imported here, so listing queries costs nothing at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["SavedQuery", "names", "load", "all_queries", "UnknownQuery"]

_FORMAT_LINE = re.compile(r"^--\s*default format:\s*(\w+)\s*$", re.I)
_PARAM = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}")


class UnknownQuery(LookupError):
    """No saved query has that name."""


@dataclass(frozen=True)
class SavedQuery:
    name: str
    sql: str

    @property
    def comments(self) -> list[str]:
        """The opening comment lines, without their ``--``."""
        out = []
        for line in self.sql.splitlines():
            if not line.startswith("--"):
                break
            out.append(line[2:].strip())
        return out

    @property
    def purpose(self) -> str:
        """The first comment line: what the query answers."""
        comments = self.comments
        return comments[0] if comments else ""

    @property
    def default_format(self) -> str | None:
        for line in self.sql.splitlines():
            m = _FORMAT_LINE.match(line)
            if m:
                return m.group(1)
            if not line.startswith("--"):
                break
        return None

    @property
    def parameters(self) -> list[tuple[str, str]]:
        """``(name, type)`` of each placeholder (a rough scan, for help texts only)."""
        body = "\n".join(line for line in self.sql.splitlines() if not line.startswith("--"))
        return list(dict.fromkeys(_PARAM.findall(body)))


def names() -> list[str]:
    """Every saved query's name, sorted."""
    return sorted(
        entry.name[:-4]
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".sql")
    )


def load(name: str) -> SavedQuery:
    """The saved query ``name`` (``name.sql`` is accepted too)."""
    if name.endswith(".sql"):
        name = name[:-4]
    known = names()
    if name not in known:
        close = [n for n in known if name in n or n in name]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownQuery(
            f"No saved query named {name!r}.{hint} Known: {', '.join(known)} "
            "(asl query --list says what each answers)."
        )
    return SavedQuery(name, resources.files(__name__).joinpath(f"{name}.sql").read_text("utf-8"))


def all_queries() -> list[SavedQuery]:
    return [load(n) for n in names()]
