"""Errors of the loader, with ClickHouse's codes and message layout.

Every error renders as ``Code: {code}. {message}. ({NAME})`` -- the one-line form ClickHouse
uses -- with no second ``.`` when the message already ends with one.

Dependency-failure chains
-------------------------
ClickHouse cancels a dependent with ``Load job 'b' -> {the dependency's whole error}``, so the
message of the n-th job in a chain holds n nested messages and a 100k-deep cascade costs
gigabytes.  We keep ClickHouse's exact text while the chain is short (``EXACT_HOPS`` hops) and
past that write the job's own name, its dependency's name, an elision that counts the skipped
jobs, and the root error: a message never exceeds a few KiB and costs O(1) to build.
"""

from __future__ import annotations

#: Chains up to this many ``->`` hops are rendered exactly as ClickHouse does.
EXACT_HOPS = 3

#: Longest text kept from a job function's own exception message.
MAX_CAUSE_CHARS = 2048


def _render(code: int, name: str, message: str) -> str:
    dot = "" if message.endswith(".") else "."
    return f"Code: {code}. {message}{dot} ({name})"


class AsyncLoadError(Exception):
    """Base of every loader error; ``.code``, ``.name`` and ``.message`` as in ClickHouse."""

    # Slots, not a per-instance dict: a 100k-job cascade makes 100k of these, and every
    # GC-tracked object it allocates brings the next full collection closer.
    __slots__ = ("message",)

    code: int = 0
    name: str = "UNKNOWN"

    def __init__(self, message: str) -> None:
        if not isinstance(message, str):
            message = str(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return _render(self.code, self.name, self.message)

    def __reduce__(self):  # keep pickling (multiprocessing, dask) working
        return (type(self), (self.message,))


class AsyncLoadCycle(AsyncLoadError):
    """``schedule()`` found a dependency cycle among the jobs it was given."""

    code = 694
    name = "ASYNC_LOAD_CYCLE"


class AsyncLoadFailed(AsyncLoadError):
    """A job function raised; the original exception is ``__cause__``."""

    code = 695
    name = "ASYNC_LOAD_FAILED"


class AsyncLoadCanceled(AsyncLoadError):
    """A job will never run: it was removed, a dependency failed, or the loader shut down."""

    code = 696
    name = "ASYNC_LOAD_CANCELED"


class AsyncLoadWaitFailed(AsyncLoadError):
    """``wait()`` on a job that ended FAILED or CANCELED."""

    code = 722
    name = "ASYNC_LOAD_WAIT_FAILED"


class LogicalError(AsyncLoadError):
    """A call that can never succeed as made (it would deadlock, or breaks an API rule)."""

    code = 49
    name = "LOGICAL_ERROR"


class DependencyCanceled(AsyncLoadCanceled):
    """The default cancellation of a job whose dependency failed or was canceled.

    ``hops`` counts the jobs between this one and the root error, ``root`` is that error
    (a FAILED job's error or a removal).  Both are what bound the message.
    """

    __slots__ = ("job_name", "hops", "root", "root_text")

    def __init__(self, job_name: str, dependency_error: BaseException) -> None:
        if isinstance(dependency_error, DependencyCanceled):
            hops = dependency_error.hops + 1
            root = dependency_error.root
            root_text = dependency_error.root_text
        else:
            hops = 1
            root = dependency_error
            root_text = format_exception(dependency_error)
        if hops <= EXACT_HOPS:
            message = f"Load job '{job_name}' -> {format_exception(dependency_error)}"
        else:
            # dependency_error is a DependencyCanceled, hops >= 2 behind it.
            skipped = hops - 2
            message = (
                f"Load job '{job_name}' -> Code: {self.code}. "
                f"Load job '{dependency_error.job_name}' -> ... {skipped} more "
                f"job{'s' if skipped != 1 else ''} ... -> {root_text}"
            )
        super().__init__(message)
        self.job_name = job_name
        self.hops = hops
        self.root = root
        #: The root error, rendered once and shared down the chain: O(1) per hop.
        self.root_text = root_text
        self.__cause__ = dependency_error if hops <= EXACT_HOPS else root

    def __reduce__(self):
        return (AsyncLoadCanceled, (self.message,))


def format_exception(error: BaseException) -> str:
    """ClickHouse's one-line rendering of an error, without a stack trace.

    Our own errors print as ``Code: N. message. (NAME)``; any other exception as
    ``ValueError: boom``.  Either way the text is bounded.
    """
    try:
        text = str(error)
    except Exception:  # a broken __str__ (or message) must not break failure handling
        text = f"<unprintable {type(error).__name__}>"
    if isinstance(error, AsyncLoadError):
        return _bounded(text, 4 * MAX_CAUSE_CHARS)
    text = _bounded(text, MAX_CAUSE_CHARS)
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit} more characters)"
