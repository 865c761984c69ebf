"""Server information: ``version()``, ``timezone()``, ``serverTimezone()``, ``currentDatabase()``,
``currentUser()``, ``hostName()``: what a ClickHouse driver asks on connecting.

``clickhouse-connect`` opens with ``SELECT version(), timezone()``; DBeaver, the JDBC driver and
Grafana's plugin ask the same. The answers are true of asl:

* ``version()`` is ``server_version()``, ``26.9.0.0.asl-<asl's version>``: the first four numbers
  are the ClickHouse release whose SQL, formats and HTTP protocol this server reproduces (and is
  tested against: chdb 4.4 is ClickHouse 26.9), so a driver that compares versions
  (``clickhouse-connect``'s ``min_version``, which reads the numeric parts and skips the rest, as
  for Altinity's ``22.8.15.25.altinitystable``) picks the features of that release; the suffix
  says it is asl, and which asl.
* ``timezone()`` is the session's zone, ``serverTimezone()`` the process's (as
  ClickHouse: the session's ``session_timezone`` if set, else the server's).
* ``currentDatabase()`` is ``system``, the one database here (DuckDB's own answer would be its
  catalog's name, ``memory``; table names still need the ``system.`` prefix).
* ``currentUser()`` (``user()``) is ClickHouse's ``default``: there are no users here, only an
  optional token. ``hostName()`` is this machine's name.
"""

from __future__ import annotations

import socket
from functools import cache

from sqlglot import exp

from sqlbridge.functions.builders import session_zone
from sqlbridge.functions.entry import Function

#: The ClickHouse release whose behaviour asl reproduces (the oracle's, chdb 4.4).
CLICKHOUSE_RELEASE = "26.9.0.0"


@cache
def asl_version() -> str:
    """asl's own version (the installed distribution's), ``unknown`` when run from a tree that
    was never installed."""
    from importlib import metadata

    try:
        return metadata.version("asl")
    except metadata.PackageNotFoundError:
        return "unknown"


def server_version() -> str:
    """What ``version()`` answers (see the module docstring)."""
    return f"{CLICKHOUSE_RELEASE}.asl-{asl_version()}"


def _literal(value) -> object:
    return lambda *_: exp.Literal.string(value() if callable(value) else value)


def _server_zone(*_: object) -> exp.Expression:
    from sqlbridge.timezone import local_time_zone

    return exp.Literal.string(local_time_zone())


FUNCTIONS = [
    Function("version", nodes=(exp.CurrentVersion,), rewrite=_literal(server_version),
             result_type="String", never_null=True),
    Function("timezone", translate=lambda call: session_zone(),
             result_type="String", never_null=True),
    Function("serverTimezone", translate=_server_zone,
             result_type="String", never_null=True),
    Function("currentDatabase", nodes=(exp.CurrentDatabase,), rewrite=_literal("system"),
             result_type="String", never_null=True),
    Function("currentUser", aliases=("user",), translate=_literal("default"),
             result_type="String", never_null=True),
    Function("hostName", translate=_literal(socket.gethostname),
             result_type="String", never_null=True),
]
