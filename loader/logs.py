"""The loader's logger, and a log call that never raises into the engine."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("asl.loader")


def log(level: int, message: str, *args: object, **kwargs: Any) -> None:
    """Log, but never let a broken handler break the loader.

    Many of these calls run under the loader lock or in a worker between a job and its
    bookkeeping: an exception escaping from a handler there would leave a job PENDING for ever.
    """
    try:
        logger.log(level, message, *args, **kwargs)
    except Exception:  # noqa: BLE001 - the handler's problem, not the loader's
        pass
