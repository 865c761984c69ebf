"""Segment files: atomic writes, merging a writer's small segments, cleaning up after kills.

Every file is written to ``PATH/.tmp/`` and moved into place with ``os.replace``, which is
atomic on POSIX: a reader (or a SIGKILL) sees the old file or the new one, never half of one.
A kill leaves at most a stray file in ``.tmp/``, which the next writer removes.

Merging keeps an hour of one-second flushes from being 3600 files: segments have a level (the
number of flushes they cover, in powers of ``fanout``), and whenever ``fanout`` adjacent
segments of one level exist they become one segment of the next level, covering the union of
their ranges.  Only adjacent segments are merged, so the union never covers a segment that is
not among the inputs; the inputs are deleted after the merged file is in place, and a reader
that lists the directory between the two steps ignores them (``schema.visible_segments``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .schema import Layout, parse_segment_name, segment_name, visible_segments

log = logging.getLogger(__name__)

#: .tmp files older than this are leftovers of a killed writer (a live one renames in ms).
STALE_TMP_SECONDS = 120.0


def write_atomic(layout: Layout, table: pa.Table, dest: Path, *, fsync: bool = False) -> None:
    """Write ``table`` as Parquet at ``dest`` through ``.tmp/`` and one ``os.replace``."""
    tmp = layout.tmp / f"{uuid.uuid4().hex}.parquet.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd")
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@dataclass(frozen=True)
class Segment:
    path: Path
    first: int
    last: int
    size: int

    @property
    def width(self) -> int:
        return self.last - self.first + 1


def own_segments(directory: Path, instance: str) -> list[Segment]:
    """This instance's visible segments in ``directory``, oldest first."""
    try:
        names = [n for n in os.listdir(directory) if n.startswith(instance)]
    except FileNotFoundError:
        return []
    out = []
    for p in visible_segments(names):
        parsed = parse_segment_name(p)
        assert parsed is not None
        try:
            size = os.stat(directory / p).st_size
        except FileNotFoundError:
            continue
        out.append(Segment(directory / p, parsed[1], parsed[2], size))
    out.sort(key=lambda s: s.first)
    return out


def _level(width: int, fanout: int) -> int:
    level = 0
    while width >= fanout:
        width //= fanout
        level += 1
    return level


def merge_once(layout: Layout, directory: Path, instance: str, *, fanout: int = 8,
               max_bytes: int = 64 << 20, fsync: bool = False) -> bool:
    """Merge the oldest run of ``fanout`` adjacent same-level segments; False if none."""
    segments = own_segments(directory, instance)
    run: list[Segment] = []
    for seg in segments:
        if run and _level(seg.width, fanout) != _level(run[-1].width, fanout):
            run = []
        run.append(seg)
        if len(run) > fanout:
            run.pop(0)
        if len(run) == fanout and sum(s.size for s in run) <= max_bytes:
            break
    else:
        return False
    try:
        tables = [pq.read_table(s.path) for s in run]
    except FileNotFoundError:
        return False  # retention (another process) removed one meanwhile; next time
    except Exception as e:  # noqa: BLE001 - an unreadable input stays as it is, and is named
        log.warning("not merging %s: %s", [s.path.name for s in run], e)
        return False
    schema = tables[0].schema
    merged = pa.concat_tables([t.cast(schema) if t.schema != schema else t for t in tables])
    dest = directory / segment_name(instance, run[0].first, run[-1].last)
    write_atomic(layout, merged, dest, fsync=fsync)
    for s in run:
        try:
            os.unlink(s.path)
        except FileNotFoundError:
            pass
    return True


def merge_all(layout: Layout, directory: Path, instance: str, **options) -> int:
    merges = 0
    while merge_once(layout, directory, instance, **options):
        merges += 1
    return merges


def clean_up(layout: Layout, now: float | None = None) -> None:
    """Remove a killed writer's leftovers: stale ``.tmp`` files, and segments that a merged
    segment covers (a kill between the merge's rename and its deletes).  Safe with live
    writers: covered segments are never read, and a live writer's .tmp file is fresh."""
    now = time.time() if now is None else now
    try:
        for entry in os.scandir(layout.tmp):
            try:
                if now - entry.stat().st_mtime > STALE_TMP_SECONDS:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass
    except FileNotFoundError:
        pass
    for directory in (layout.log, layout.text_log, layout.archive_log):
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        segments = [n for n in names if parse_segment_name(n) is not None]
        for name in set(segments) - set(visible_segments(segments)):
            try:
                os.unlink(directory / name)
            except FileNotFoundError:
                pass
