"""``%load_ext sqlbridge``: the ``%%asl`` and ``%asl`` magics for Jupyter and IPython.

A cell is SQL over a loader's live tables, run by a ``sqlbridge`` session::

    %%asl --time-zone UTC
    SELECT status, count() FROM system.asynchronous_loader GROUP BY status

One module per part, each explaining its own:

* ``result``   ``Result``, a statement's table (HTML in Jupyter, PrettyCompact text, ``.arrow``),
               and how a cell fails: ``QueryFailed``, ``usage()``.
* ``targets``  which loader or endpoint a cell queries; the sessions and connections kept for
               them (``MAX_SESSIONS``).
* ``cells``    a cell's options (split like a shell line, ``{expr}`` and ``$name`` expanded) and
               running its statements in order.
* ``timeline`` ``%asl_timeline``: a loader's timeline inline (``sqlbridge.timeline``).
* ``magics``   the IPython glue: the ``Magics`` class with ``%asl``, ``%%asl``, ``%asl_connect``
               and ``%asl_timeline``.

IPython is imported only inside the functions that IPython calls (``load_ipython_extension``)
and the magics themselves, so this package, and ``import sqlbridge``, never need it.
"""

from __future__ import annotations

from typing import Any

from sqlbridge.notebook.magics import magics_class
from sqlbridge.notebook.result import QueryFailed, Result
from sqlbridge.notebook.targets import MAX_SESSIONS

__all__ = ["Result", "QueryFailed", "load_ipython_extension", "unload_ipython_extension",
           "MAX_SESSIONS"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sqlbridge``: register ``%asl``, ``%%asl``, ``%asl_connect`` and
    ``%asl_timeline``."""
    ipython.register_magics(magics_class())


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sqlbridge``: close the sessions and connections, remove the magics."""
    manager = ipython.magics_manager
    magics = manager.registry.pop("AslMagics", None)
    if magics is not None:
        magics.connections.close()
    for kind, name in (("line", "asl"), ("cell", "asl"), ("line", "asl_connect"),
                       ("line", "asl_timeline")):
        manager.magics[kind].pop(name, None)
