"""``%asl_timeline``: the timeline of a loader's jobs, displayed inline (``sqlbridge.timeline``).

Which loader: as for ``%asl`` (``--loader NAME``, ``--connect URL``, ``%asl_connect``'s
default, else the only ``loader.AsyncLoader`` in the namespace). The filters are ``asl
timeline``'s. The value is a ``sqlbridge.timeline.Chart``: the HTML page in an iframe in
Jupyter, SVG elsewhere; ``-o FILE`` also writes svg, html or json (a Chrome trace).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlbridge.notebook.result import usage
from sqlbridge.notebook.targets import Connections, find_loader, lookup

__all__ = ["TIMELINE_OPTIONS", "timeline_chart"]

#: (flags, keywords) for IPython's ``argument`` decorator, in help order.
TIMELINE_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--loader",), {"metavar": "NAME", "help": "The variable holding the loader (a dotted "
                                                "path works)."}),
    (("-c", "--connect"), {"metavar": "URL", "help": "An asl HTTP endpoint instead."}),
    (("--token",), {"metavar": "TOKEN", "help": "With --connect: the endpoint's token."}),
    (("--job",), {"metavar": "NAME|ID", "help": "Only this job and its relatives."}),
    (("--direction",), {"choices": ["dependencies", "dependents", "both"], "default": "both",
                        "help": "With --job: what it waits for, what waits for it, or both."}),
    (("--depth",), {"type": int, "help": "With --job: at most this many hops."}),
    (("--database",), {"action": "append", "metavar": "DB",
                       "help": "Only jobs of this database (repeatable)."}),
    (("--status",), {"action": "append", "metavar": "STATUS",
                     "help": "Only jobs with this status (repeatable)."}),
    (("--since",), {"metavar": "WHEN", "help": "Window start: seconds since the first job "
                                               "was scheduled, or a time."}),
    (("--until",), {"metavar": "WHEN", "help": "Window end (as --since)."}),
    (("--width",), {"type": int, "help": "Width in pixels (default 1600)."}),
    (("-o", "--output"), {"metavar": "FILE", "help": "Also write svg, html or json (a Chrome "
                                                     "trace), by the extension."}),
]


def _source(connections: Connections, args: Any, namespace: Mapping[str, Any]) -> Any:
    if args.connect and args.loader:
        raise usage("--loader and --connect exclude each other: draw a local loader or a "
                    "server, not both")
    url, token = args.connect, args.token
    default = connections.default
    if not url and not args.loader and default is not None and default[0] == "connect":
        url, token = default[1], token or default[2]
    if url:
        return connections.remote(url, token or os.environ.get("ASL_TOKEN") or None)
    if args.loader:
        return lookup(args.loader, namespace)
    if default is not None:
        return lookup(default[1], namespace, "%asl_connect")
    return find_loader(namespace)[1]


def timeline_chart(connections: Connections, args: Any, namespace: Mapping[str, Any]) -> Any:
    """The chart ``%asl_timeline`` shows; a bad option or filter is a one-line UsageError."""
    from sqlbridge.endpoint.client import ServerError, Unreachable
    from sqlbridge.timeline import chart

    source = _source(connections, args, namespace)
    name = args.connect or args.loader or "the loader"
    try:
        result = chart(source, title=f"asl timeline: {name}", width=args.width, job=args.job,
                       direction=args.direction, depth=args.depth, database=args.database,
                       status=[s.upper() for s in args.status] if args.status else None,
                       since=args.since, until=args.until)
    except LookupError as e:
        raise usage(str(e).strip("'\"")) from None
    except ValueError as e:
        raise usage(str(e)) from None
    except Unreachable as e:
        raise usage(e.advice("--connect")) from None
    except ServerError as e:
        raise usage(str(e)) from None
    if args.output:
        try:
            result.save(args.output)
        except ValueError as e:
            raise usage(str(e)) from None
        except OSError as e:
            raise usage(f"cannot write {args.output}: {e.strerror or e}") from None
    return result
