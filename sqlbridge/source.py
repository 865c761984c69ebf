"""``JobSource``: what a SQL session, the graph and the endpoint read jobs from.

A ``loader.AsyncLoader`` is one; so are ``sqlbridge.endpoint.client.Client`` (a remote loader,
fetched over HTTP), the CLI's frozen demo state and the tests' fakes. Only the two methods
matter, each returning an Arrow table with ``loader.snapshot``'s schema (``SCHEMA``,
``POOLS_SCHEMA``). A source without ``pool_snapshot`` still works with ``sqlbridge.connect``:
the pools table then reads as empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["JobSource"]


@runtime_checkable
class JobSource(Protocol):
    """Anything with ``snapshot()`` (the job table) and ``pool_snapshot()`` (the pools)."""

    def snapshot(self) -> pa.Table:
        """The job table as of now: one consistent state (``loader.snapshot.SCHEMA``)."""
        ...

    def pool_snapshot(self) -> pa.Table:
        """The pools as of now (``loader.snapshot.POOLS_SCHEMA``)."""
        ...
