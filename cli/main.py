"""The ``asl`` command: a click group whose subcommands are imported only when run.

``asl --help`` must start in well under 0.3 s, and DuckDB, pyarrow and sqlglot together take
half a second to import.  So this module imports click and nothing else; each subcommand lives
in a module of its own that is imported when that subcommand runs (its one-line help is kept
here so that listing the commands imports none of them), and those modules import the engine
and the SQL session inside their functions.  ``tests/cli/test_startup.py`` holds the line.
"""

from __future__ import annotations

import errno
import importlib
import sys

import click

#: name -> (module, attribute, one-line help shown by ``asl --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "sql": ("cli.sql", "sql", "Run SQL over the loader's live state (system.asynchronous_loader)."),
    "query": ("cli.query", "query", "Run a saved diagnostic query (blocked, failures, ...)."),
    "graph": ("cli.graph", "graph", "Draw the job graph: DOT, or SVG/PNG through Graphviz dot."),
    "timeline": ("cli.timeline", "timeline",
                 "Draw when every job ran, per pool and worker: SVG, HTML, Chrome trace."),
    "demo": ("cli.demo", "demo", "Run a simulated ClickHouse server start-up and query it."),
}

EPILOG = """\b
Examples:
  asl demo                                  # a server start-up, then its state
  asl sql --demo "SELECT status, count() FROM system.asynchronous_loader GROUP BY status"
  asl query --list                          # the saved diagnostic queries
  asl query --demo blocked                  # what blocks whom, right now
  asl graph --demo --collapse -o startup.svg
  asl demo --serve 127.0.0.1:8123           # then, from another terminal:
  asl sql --connect http://127.0.0.1:8123 "SELECT * FROM system.asynchronous_loader LIMIT 3"
\b
The source of jobs is --demo (an embedded, simulated server start-up) or --connect URL /
ASL_URL (a running asl HTTP endpoint; its token from ASL_TOKEN) or --history PATH (a history
recorded by sqlbridge.record_history or asl demo --history: a directory, or a glob of them).
"""


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute, _ = entry
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="asl", prog_name="asl")
def cli() -> None:
    """asl: ClickHouse's AsyncLoader in Python, and SQL over its live state.

    Every scheduled and finished job is a row of system.asynchronous_loader; query it with
    ClickHouse SQL, with saved diagnostic queries, or draw it as a graph.
    """


def _clickhouse_params(argv: list[str]) -> list[str]:
    """clickhouse-client spells parameters ``--param_name=value``; accept that too."""
    out = []
    it = iter(argv)
    for arg in it:
        if arg.startswith("--param_") and arg != "--param_":
            name, sep, value = arg[len("--param_"):].partition("=")
            if not sep:
                value = next(it, "")
            out += ["--param", f"{name}={value}"]
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    """The console script: exit codes 0 ok, 1 query or runtime error, 2 usage error."""
    if argv is None:  # the console script: a process of its own (see cli.pyarrow_probe)
        from cli.pyarrow_probe import install

        install()
    args = _clickhouse_params(list(sys.argv[1:] if argv is None else argv))
    try:
        cli.main(args=args, prog_name="asl", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except OSError as e:
        # What click leaves: a write error on stdout (`asl --help > /dev/full`) from echo, or
        # an OS error nothing else caught.  One line, exit 1, never a traceback.
        from cli.output import discard_stdout

        discard_stdout()
        if e.filename is None and e.errno in _WRITE_ERRORS:
            print(f"asl: cannot write the output: {e.strerror}", file=sys.stderr)
        else:
            print(f"asl: {e}", file=sys.stderr)
        return 1
    return 0


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EPIPE, errno.EBADF}


if __name__ == "__main__":
    sys.exit(main())
