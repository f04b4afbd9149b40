"""Logging that cannot leak: every record's message passes DLP before any handler sees it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_original_factory = logging.getLogRecordFactory()


def scrub_log_records(scrub: Callable[[str], str]) -> None:
    """Install (or replace) the scrubber; formats the message once and stores the clean text."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _original_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug; keep the raw record
            return record
        record.msg, record.args = scrub(message), ()
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return record

    logging.setLogRecordFactory(factory)


def restore_log_records() -> None:
    logging.setLogRecordFactory(_original_factory)
