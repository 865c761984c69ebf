"""``serve(loader, address)``: the live tables over HTTP, in the manner of ClickHouse's interface.

The protocol is ClickHouse's (``src/Server/HTTPHandler.cpp``), so ``curl``, ClickHouse drivers
and ``asl sql --connect`` all work: ``GET /?query=SQL`` or ``POST /`` with the SQL in the body,
``GET /ping``, one statement per request, the format from ``FORMAT``, ``X-ClickHouse-Format`` or
``default_format``, ``param_NAME=`` for ``{NAME:Type}``, errors as ``Code: N. DB::Exception:
...`` with ClickHouse's HTTP status. It listens on loopback or a Unix socket unless given a
token, and every statement runs in a read-only, sandboxed session.

One module per part, each explaining its own:

* ``server``    ``serve()`` and ``Server``: binding, the serving thread, ``close()``.
* ``address``   reading ``address``, the loopback rule (``UnsafeBindError``), Unix socket files.
* ``auth``      the token: checked at ``serve()``, then on every request (401, 403).
* ``connections`` the selector thread and the bounded worker pool; header/body/send/keep-alive
                deadlines; whether a client is still there.
* ``handler``   one request: routes, body, URL parameters and settings, the answer.
* ``exposure``  what a client is shown: no host paths in errors, printable status lines.
* ``sessions``  the sessions requests share, one per (dialect, time zone).
* ``statuses``  ClickHouse's error code -> HTTP status table; Content-Type per format.
* ``client``    the other side: ``Client(url).execute(sql)``, used by ``asl --connect`` and the
                notebook's ``--connect``.

Importing this package costs nothing: its names load on first use, so the client
(``sqlbridge.endpoint.client``, ``http.client`` only) does not pull in the server's
``http.server``; DuckDB, pyarrow and sqlglot load when ``serve()`` opens its first session.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["serve", "Server", "Timeouts", "UnsafeBindError", "HTTP_STATUS", "http_status",
           "MAX_QUERY_SIZE"]

_WHERE = {"serve": "server", "Server": "server", "Timeouts": "connections",
          "UnsafeBindError": "address",
          "HTTP_STATUS": "statuses", "http_status": "statuses", "MAX_QUERY_SIZE": "handler"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlbridge.endpoint' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sqlbridge.endpoint.{module}"), name)
