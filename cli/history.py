"""``--history PATH``: a recorded history (``sqlbridge.record_history``) as the source of jobs.

PATH is a history directory, a glob of them (quoted, so the shell leaves it alone), or a
directory whose subdirectories are histories; ``--history`` may be given several times.  One
query then covers several restarts, processes or hosts.  A path that is not a history, or a
history written by a newer asl, is a usage error (exit 2) in one line; a corrupt file inside a
history is skipped with one ``asl: warning:`` line on stderr and the rest is queried.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import click


def check_history(ctx: click.Context, specs: Sequence[str]) -> None:
    """Exit 2 with one line unless every spec names at least one readable history."""
    from sqlbridge.history.reader import History
    from sqlbridge.history.schema import HistoryError

    try:
        History(list(specs))
    except HistoryError as e:
        click.echo(f"asl {ctx.info_name}: --history: {e}", err=True)
        ctx.exit(2)


@contextlib.contextmanager
def open_history(specs: Sequence[str], *, latest_only: bool = False) -> Iterator[Any]:
    """The history as a source of jobs; corrupt files are reported as one line each."""
    from sqlbridge.history.reader import CorruptSegment
    from sqlbridge.history.source import HistorySource

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kw: Any) -> None:
            if issubclass(category, CorruptSegment):
                click.echo(f"asl: warning: {message}", err=True)
            else:
                shown(message, category, *args, **kw)

        warnings.showwarning = show
        warnings.simplefilter("always", CorruptSegment)
        with HistorySource(list(specs), latest_only=latest_only) as source:
            yield source
