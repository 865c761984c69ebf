"""Fixtures for the engine's acceptance tests.

``make_loader`` always shuts its loaders down; every barrier or event from ``syncs`` is broken
before that, so a failing test ends with a failed assertion instead of a hung worker.
"""

from __future__ import annotations

import threading

import pytest
from loader_testkit import Syncs, make_pools, shutdown_bounded

from loader import AsyncLoader


@pytest.fixture(autouse=True)
def no_thread_dies():
    """Fail the test if any thread (a loader worker above all) dies of an exception: job
    exceptions are the engine's to catch, so this is an internal error or a broken helper."""
    died: list[str] = []
    previous = threading.excepthook

    def hook(args) -> None:
        died.append(
            f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: "
            f"{args.exc_value}"
        )
        previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous
    assert not died, died


@pytest.fixture
def syncs():
    box = Syncs()
    yield box
    box.release_all()


@pytest.fixture
def make_loader(syncs):
    """Build loaders (paused by default, like every upstream test) and always shut them down.

    ``make_loader(1)`` is ClickHouse's ``AsyncLoaderTest t(1)``; ``make_loader((2, 0), (2, 1))``
    its initializer-list form.  Failures are not logged unless asked (the C++ tests do the same).
    """
    loaders: list[AsyncLoader] = []

    def factory(*pools, paused: bool = True, **kwargs) -> AsyncLoader:
        kwargs.setdefault("log_failures", False)
        loader = AsyncLoader(make_pools(pools or (1,)), paused=paused, **kwargs)
        loaders.append(loader)
        return loader

    yield factory
    syncs.release_all()
    for loader in loaders:
        shutdown_bounded(loader)
