"""The command line's output: writing answers to stdout, and whether stdout is a terminal.

Imported by ``cli.run``, ``cli.remote`` and ``cli.graph``; it imports no other ``cli`` module, so
the modules that write output never import one another to do it.
"""

from __future__ import annotations

import errno
import os
import sys

import click

__all__ = ["write", "discard_stdout", "output_is_terminal", "file_format", "check_writable",
           "write_output"]


def write(result: str | bytes) -> None:
    """Write ``result`` to stdout now; if stdout cannot take it, end the command cleanly.

    A closed pipe (``asl sql ... | head -1``) ends it quietly with exit 1, as click does for
    ``echo``; any other write error (a full disk, ``> /dev/full``) prints one line and exits 1.
    Either way no Python traceback, and nothing is left buffered to fail again at exit.
    """
    try:
        if isinstance(result, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(result)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(result)
            sys.stdout.flush()
    except OSError as e:
        _stdout_failed(e)


def _stdout_failed(error: OSError) -> None:
    ctx = click.get_current_context(silent=True)
    discard_stdout()
    if error.errno != errno.EPIPE:
        name = f"asl {ctx.info_name}" if ctx is not None and ctx.info_name else "asl"
        click.echo(f"{name}: cannot write the output: {error.strerror or error}", err=True)
    if ctx is not None:
        ctx.exit(1)
    sys.exit(1)


def discard_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so that the final flush at exit cannot fail."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def output_is_terminal() -> bool:
    """Whether stdout is a terminal (clickhouse-client's test for PrettyCompact)."""
    try:
        return os.isatty(1)
    except OSError:
        return False


def file_format(ctx: click.Context, output: str | None, format_name: str | None,
                extensions: dict[str, str], formats: str, default: str) -> str:
    """The format to write: ``-f``, else ``output``'s extension (one of ``extensions``), else
    ``default``.  An ``-o`` whose extension names no format, with no ``-f``, is a usage error
    that lists ``formats``: guessing would write a file its name lies about."""
    by_extension = extensions.get(os.path.splitext(output)[1].lower()) if output else None
    if format_name is None and output is not None and by_extension is None:
        extension = os.path.splitext(output)[1]
        raise click.BadParameter(
            (f"cannot write {extension!r} files" if extension else "no file extension")
            + f": the formats are {formats}; use one of those extensions, or choose the format "
            "with -f", ctx, param_hint="'-o' / '--output'")
    return (format_name or by_extension or default).lower()


def check_writable(ctx: click.Context, command: str, path: str) -> None:
    """Exit 1 with one line if ``path`` obviously cannot be written (its folder is missing or
    closed to us): checked before a source is opened, so a long start-up is not wasted."""
    folder = os.path.dirname(os.path.abspath(path))
    reason = None
    if not os.path.isdir(folder):
        reason = "No such file or directory" if not os.path.exists(folder) else "Not a directory"
    elif not os.access(folder, os.W_OK | os.X_OK) and not os.path.exists(path):
        reason = "Permission denied"
    if reason is not None:
        click.echo(f"{command}: cannot write {path}: {reason}", err=True)
        ctx.exit(1)


def write_output(ctx: click.Context, command: str, output: str | None, data: bytes,
                 fmt: str, summary: str = "") -> None:
    """``data`` to the file ``output``, or to stdout when there is none; a file that cannot be
    written is one line and exit 1, and a written one is said on stderr (its size, ``fmt`` and
    ``summary``), so stdout holds only the data."""
    if output is None:
        write(data)
        return
    try:
        with open(output, "wb") as f:
            f.write(data)
    except OSError as e:
        click.echo(f"{command}: cannot write {output}: {e.strerror or e}", err=True)
        ctx.exit(1)
    click.echo(f"{command}: wrote {output} ({len(data):,} bytes, {fmt})"
               + (f": {summary}" if summary else ""), err=True)
