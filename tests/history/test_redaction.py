"""Redaction: a secret marked as such never reaches any byte of the history."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loader import LoadJob
from sqlbridge.history import Redactor, record_history
from sqlbridge.history.redaction import REDACTED

SECRET = "hunter2-c0ffee"
PATTERN_SECRET = "sk_live_4242424242"


def leaky(loader, job):
    logging.getLogger("payments").warning("calling the API with %s and %s", SECRET,
                                          PATTERN_SECRET)
    return {"echo": SECRET, "key": PATTERN_SECRET}


def leaky_failure(loader, job):
    raise RuntimeError(f"login failed for password {SECRET} key {PATTERN_SECRET}")


def record_leaks(fake, path: Path, redact) -> None:
    jobs = [
        LoadJob(leaky, name="ok", tags={"password": SECRET, "user": "alice"}),
        LoadJob(leaky_failure, name="bad", tags={"password": SECRET}),
        LoadJob(lambda _l, _j: None, name=f"job using {PATTERN_SECRET}"),
    ]
    with record_history(fake, path, flush_interval=3600, redact=redact):
        fake.loader.schedule(jobs)
        fake.loader.wait_all(timeout=30)
        fake.emit(jobs)


def decoded_text(path: Path) -> str:
    """Every value of every Parquet file under path, as text (the files are compressed)."""
    parts = []
    for root, _dirs, names in os.walk(path):
        for name in names:
            p = Path(root) / name
            if name.endswith(".parquet"):
                parts.append(repr(pq.read_table(p).to_pylist()))
            parts.append(p.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_without_redaction_the_secrets_are_stored_so_the_check_below_means_something(
        fake, tmp_path):
    record_leaks(fake, tmp_path / "h", None)
    text = decoded_text(tmp_path / "h")
    assert SECRET in text and PATTERN_SECRET in text


def test_tag_keys_and_patterns_keep_secrets_out_of_every_file_byte(fake, tmp_path):
    redact = Redactor(tag_keys={"PASSWORD"}, patterns=[r"sk_live_[0-9]+"])
    record_leaks(fake, tmp_path / "h", redact)
    text = decoded_text(tmp_path / "h")
    # The tag's value is scrubbed from the result, the exception, the traceback (its source
    # line) and the log message too, not only from the tag itself.
    assert SECRET not in text and PATTERN_SECRET not in text
    assert REDACTED in text and "alice" in text


def test_a_callable_redacts_every_stored_text(fake, tmp_path):
    record_leaks(fake, tmp_path / "h",
                 lambda s: s.replace(SECRET, "***").replace(PATTERN_SECRET, "***"))
    text = decoded_text(tmp_path / "h")
    assert SECRET not in text and PATTERN_SECRET not in text and "***" in text


def test_a_bad_pattern_is_refused_at_once():
    with pytest.raises(ValueError, match="not a regular expression"):
        Redactor(patterns=["(unclosed"])


def test_redact_must_be_a_redactor_or_a_callable(fake, tmp_path):
    with pytest.raises(TypeError, match="Redactor"):
        record_history(fake, tmp_path / "h", redact={"password"})
