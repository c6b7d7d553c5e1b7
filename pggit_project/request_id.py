"""Request ids: one per request, echoed in ``X-Request-ID`` and carried by every log line."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from pggit_project.constants import REQUEST_ID_PATTERN

_current_request_id: ContextVar[str | None] = ContextVar("pggit_request_id", default=None)
_well_formed = re.compile(REQUEST_ID_PATTERN)


def choose_request_id(offered: str | None) -> str:
    """The client's id when it is well formed, otherwise a new one."""
    if offered and _well_formed.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return _current_request_id.get()


def bind_request_id(request_id: str | None) -> None:
    """Make ``request_id`` the current one (in this thread or task's context)."""
    _current_request_id.set(request_id)


def unbind_request_id(**kwargs) -> None:
    """``request_finished`` receiver: log lines after the request no longer carry its id."""
    _current_request_id.set(None)


class RequestIdLogFilter(logging.Filter):
    """Adds ``record.request_id`` ("-" outside a request) so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current_request_id.get() or "-"
        return True
