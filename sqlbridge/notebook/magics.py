"""The IPython glue: ``magics_class()`` builds the ``Magics`` subclass (``%asl`` and ``%%asl``,
with the options of ``cells.OPTIONS``, ``%asl_connect``, and ``%asl_timeline`` with those of
``timeline.TIMELINE_OPTIONS``) when IPython loads the extension: IPython's decorators are
needed to define it, and this package must import without IPython.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlbridge.notebook.cells import OPTIONS, parse_options, run_cell, split_line
from sqlbridge.notebook.result import Result, usage
from sqlbridge.notebook.targets import Connections, find_loader, lookup
from sqlbridge.notebook.timeline import TIMELINE_OPTIONS, timeline_chart

__all__ = ["magics_class"]


def _option_decorators(func: Callable) -> Callable:
    return _option_decorators_of(OPTIONS)(func)


def _option_decorators_of(options: list) -> Callable[[Callable], Callable]:
    def decorate(func: Callable) -> Callable:
        from IPython.core.magic_arguments import argument, magic_arguments

        for flags, keywords in reversed(options):  # each decorator goes first in the help
            func = argument(*flags, **keywords)(func)
        return magic_arguments()(func)
    return decorate


def magics_class() -> type:
    """The ``Magics`` subclass, built when IPython loads the extension (IPython's decorators
    are needed to define it, and this package must import without IPython)."""
    from IPython.core.magic import (
        Magics,
        line_cell_magic,
        line_magic,
        magics_class,
        no_var_expand,
    )
    from IPython.core.magic_arguments import argument, magic_arguments
    from IPython.display import display

    @magics_class
    class AslMagics(Magics):
        def __init__(self, shell: Any) -> None:
            super().__init__(shell)
            self.connections = Connections()

        @no_var_expand
        @line_cell_magic
        @_option_decorators
        def asl(self, line: str, cell: str | None = None) -> Result | None:
            """SQL over a loader's live tables: ``%asl [options] SQL`` or a ``%%asl [options]``
            cell (several ``;``-separated statements run in order and each result is shown).
            """
            options, sql = split_line(line) if cell is None else (line, cell)
            namespace = self.shell.user_ns
            args = parse_options(self.asl, options, namespace)
            return run_cell(self.connections, args, sql, namespace, display)

        @no_var_expand
        @line_magic
        @magic_arguments()
        @argument("name", nargs="?", metavar="NAME",
                  help="The variable holding the loader every cell queries (a dotted path "
                       "works).")
        @argument("-c", "--connect", metavar="URL",
                  help="Query this asl HTTP endpoint in every cell instead.")
        @argument("--token", metavar="TOKEN", help="With --connect: the endpoint's token.")
        def asl_connect(self, line: str) -> None:
            """Choose what ``%%asl`` cells query by default; without arguments, say what
            they query now."""
            namespace = self.shell.user_ns
            args = parse_options(self.asl_connect, line, namespace)
            if args.name and args.connect:
                raise usage("%asl_connect takes a loader NAME or --connect URL, not both")
            if args.connect:
                self.connections.remote(args.connect, args.token)  # checks the URL now
                self.connections.default = ("connect", args.connect, args.token or "")
            elif args.name:
                # a typo is reported now, not at the next cell
                lookup(args.name, namespace, "%asl_connect")
                self.connections.default = ("loader", args.name)
            print(_describe(self.connections.default, namespace))

        @no_var_expand
        @line_magic
        @_option_decorators_of(TIMELINE_OPTIONS)
        def asl_timeline(self, line: str) -> Any:
            """The timeline of a loader's jobs, inline: a bar per job on its worker's lane,
            grouped by pool (``sqlbridge.timeline``; the filters are ``asl timeline``'s)."""
            namespace = self.shell.user_ns
            args = parse_options(self.asl_timeline, line, namespace)
            return timeline_chart(self.connections, args, namespace)

    return AslMagics


def _describe(default: tuple[str, ...] | None, namespace: Mapping[str, Any]) -> str:
    from IPython.core.error import UsageError

    if default is None:
        try:
            name = find_loader(namespace)[0]
        except UsageError as e:
            return f"%%asl cells have no default loader yet: {e}"
        return f"%%asl cells query {name}, the only loader.AsyncLoader in the namespace"
    if default[0] == "connect":
        return f"%%asl cells query {default[1]}"
    return f"%%asl cells query the loader {default[1]}"
