"""Finding what to read in one or more history directories, and refusing what is not one.

A *history spec* is what a user types after ``--history``: a history directory, a glob of them
(``'fleet/*'``, quoted so the shell leaves it alone), a directory whose subdirectories are
histories (a fleet's collection), or a list of any of these.  ``History(spec)`` resolves it once
(errors are one line, naming the path and what to do) and then, per statement, lists the files of
each table:

* segments (``log``, ``text_log``, ``archive/log``) go through ``schema.visible_segments``, so a
  merge's inputs seen next to the merged file are never counted twice;
* every file's footer is checked once (cached by path, size, mtime and inode: files are
  immutable once renamed into place, and retention replaces a file under the same name, which
  changes the key); a file that cannot be read or whose schema is not the table's is skipped
  with a ``CorruptSegment`` warning naming it, and the rest stays queryable;
* ``.tmp/`` and names that are not segments are never read.

A glob is expanded again at every listing, so a process that starts recording into a new
directory matching it shows up in a long-lived session; a directory that goes away is skipped.
"""

from __future__ import annotations

import glob
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sqlbridge.history.schema import (
    MARKER,
    SCHEMAS,
    SEGMENTED_TABLES,
    TABLE_DIRS,
    HistoryError,
    NotAHistory,
    parse_segment_name,
    schema_version_of,
    visible_segments,
)

__all__ = ["History", "CorruptSegment", "HistorySpec", "check_root"]

#: What ``History`` accepts: a path or glob, or several.
HistorySpec = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]

_GLOB_CHARS = frozenset("*?[")

#: Up to this many unseen footers are read one after another: a local footer takes ~0.3 ms,
#: less than starting the pool's threads (64 footers: 20 ms in turn, 35 ms on 4 threads).
_SEQUENTIAL_FOOTERS = 128


class CorruptSegment(UserWarning):
    """A history file that could not be read was skipped; the message names it."""


def check_root(root: Path) -> None:
    """Raise a one-line ``HistoryError`` unless ``root`` is a history this asl can read."""
    if not root.exists():
        raise HistoryError(f"{root} does not exist: give the directory that "
                           "sqlbridge.record_history (or asl demo --history) wrote")
    if not root.is_dir():
        raise NotAHistory(f"{root} is a file, not an asl history: give the directory that "
                          "sqlbridge.record_history wrote")
    if schema_version_of(root, to="read it") is None:
        raise NotAHistory(f"{root} is not an asl history (it has no {MARKER}): give the "
                          "directory that sqlbridge.record_history wrote")


def _is_history(path: Path) -> bool:
    return (path / MARKER).is_file()


def _expand(item: str | os.PathLike[str], *, strict: bool) -> list[Path]:
    """The history roots one spec item names (checked when ``strict``; else best effort)."""
    text = os.fspath(item)
    if _GLOB_CHARS & set(text):
        matches = [Path(m) for m in sorted(glob.glob(os.path.expanduser(text)))]
        roots = [m for m in matches if m.is_dir() and _is_history(m)]
        if not roots and strict:
            if matches:
                raise NotAHistory(f"{text} matches {len(matches)} paths but no asl history "
                                  f"(none has an {MARKER})")
            raise HistoryError(f"{text} matches nothing: give a history directory or a glob "
                               "of them")
        for root in roots:
            if strict:
                check_root(root)
        return roots
    root = Path(os.path.expanduser(text))
    if root.is_dir() and not (root / MARKER).exists():
        # A collection: its subdirectories that are histories (one per host or process).
        subs = sorted(p for p in root.iterdir() if p.is_dir() and _is_history(p))
        if subs:
            for sub in subs:
                if strict:
                    check_root(sub)
            return subs
    if strict:
        check_root(root)
    elif not _is_history(root):
        return []
    return [root]


@dataclass(frozen=True)
class _Stamp:
    size: int
    mtime_ns: int
    ino: int


class History:
    """One or more history directories, read together (see the module docstring)."""

    def __init__(self, spec: HistorySpec) -> None:
        items: list[str | os.PathLike[str]]
        if isinstance(spec, (str, os.PathLike)):
            items = [spec]
        else:
            items = list(spec)
        if not items:
            raise HistoryError("no history given: name a history directory or a glob of them")
        self._items = items
        self._roots = self._resolve(strict=True)
        self._lock = threading.Lock()
        #: path -> (stamp, readable); files are immutable under one stamp.
        self._checked: dict[str, tuple[_Stamp, bool]] = {}
        self._warned: set[tuple[str, _Stamp]] = set()

    def _resolve(self, *, strict: bool) -> list[Path]:
        seen: dict[str, Path] = {}
        for item in self._items:
            for root in _expand(item, strict=strict):
                seen.setdefault(os.path.realpath(root), root)
        return list(seen.values())

    @property
    def roots(self) -> list[Path]:
        """The history directories read (globs expanded at the last listing)."""
        return list(self._roots)

    def refresh(self) -> None:
        """Expand the globs again (a new process's directory), keeping the roots known."""
        if not any(_GLOB_CHARS & set(os.fspath(i)) for i in self._items):
            return
        found = self._resolve(strict=False)
        known = {os.path.realpath(r) for r in self._roots}
        self._roots += [r for r in found if os.path.realpath(r) not in known]

    # --------------------------------------------------------------------- listing --

    def files(self, table: str) -> list[str]:
        """The readable files of ``table`` across every root, in a stable order."""
        expected = SCHEMAS[table]
        out: list[str] = []
        for root in self._roots:
            names = _parquet_names(root / TABLE_DIRS[table])
            if table in SEGMENTED_TABLES:
                names = visible_segments(names)
            out += names
        if len(out) > _SEQUENTIAL_FOOTERS and sum(
                self._checked.get(p) is None for p in out) > _SEQUENTIAL_FOOTERS:
            # Many footers not seen before are read side by side (pyarrow releases the GIL).
            with ThreadPoolExecutor(4) as pool:
                keep = list(pool.map(lambda p: self._readable(p, expected), out))
        else:
            keep = [self._readable(p, expected) for p in out]
        return [p for p, ok in zip(out, keep, strict=True) if ok]

    def _readable(self, path: str, expected: pa.Schema) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False  # deleted since the listing (a merge or retention): not an error
        stamp = _Stamp(st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            known = self._checked.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        problem = _footer_problem(path, expected)
        if problem == "gone":
            return False
        ok = problem is None
        with self._lock:
            self._checked[path] = (stamp, ok)
            if len(self._checked) > 100_000:  # bounded; entries are re-derived cheaply
                self._checked.clear()
        if not ok:
            self._warn(path, stamp, problem or "unreadable")
        return ok

    def mark_corrupt(self, path: str, problem: str) -> bool:
        """Skip ``path`` from now on (it failed while scanning); False if it is not ours."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        stamp = _Stamp(st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            self._checked[path] = (stamp, False)
        self._warn(path, stamp, problem)
        return True

    def _warn(self, path: str, stamp: _Stamp, problem: str) -> None:
        with self._lock:
            if (path, stamp) in self._warned:
                return
            self._warned.add((path, stamp))
        warnings.warn(f"skipped corrupt history file {path} ({problem}); the rest of the "
                      "history is read", CorruptSegment, stacklevel=2)

    def instances_by_file(self, files: Iterable[str]) -> dict[str, list[str]]:
        """Segment files grouped by loader instance (from their names)."""
        out: dict[str, list[str]] = {}
        for f in files:
            parsed = parse_segment_name(f)
            if parsed is not None:
                out.setdefault(parsed[0], []).append(f)
        return out


def _parquet_names(directory: Path) -> list[str]:
    """The ``.parquet`` files of ``directory``.  A directory read while a writer renames into
    it and deletes from it may list neither a merge's result nor its inputs, so it is listed
    until two listings agree (each is one small directory read)."""
    previous: list[str] | None = None
    for _ in range(8):
        try:
            with os.scandir(directory) as it:
                names = sorted(e.path for e in it if e.name.endswith(".parquet"))
        except (FileNotFoundError, NotADirectoryError):
            return []
        if names == previous:
            break
        previous = names
    return names


def _footer_problem(path: str, expected: pa.Schema) -> str | None:
    """None if ``path`` is a Parquet file with ``expected``'s columns; else what is wrong."""
    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        return "gone"
    except (OSError, pa.ArrowException) as e:
        return f"not a readable Parquet file: {str(e).splitlines()[0] if str(e) else e}"
    got = [(f.name, f.type) for f in schema]
    want = [(f.name, f.type) for f in expected]
    if got != want:
        missing = [n for n, _ in want if n not in dict(got)]
        detail = f"missing columns {', '.join(missing)}" if missing else "other column types"
        return f"not this table's schema: {detail}"
    return None
