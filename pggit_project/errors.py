"""Errors: the one domain exception type, the engine-error mapping and the one error shape.

Every 4xx/5xx response body is ``{"detail", "code", "errors" (validation only), "request_id"}``.
This module builds that body; ``api_exception_handler`` (DRF), ``pggit_project.handlers`` (Django's
handler400/403/404/500) and ``pggit_project.middleware.JsonErrorMiddleware`` (anything else) all use
``error_for_exception`` / ``error_response`` so the shape cannot drift.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.db import DatabaseError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from pggit_project.outage import database_reachability
from pggit_project.request_id import current_request_id

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """The one exception type services raise for expected failures.

    Subclass it per failure with class attributes, or raise it directly with keyword overrides:
    ``raise DomainError("branch 'x' exists", code="branch_exists", status=409)``.
    ``errors`` is for field-level details (``{field: [messages]}``), as validation errors have.
    """

    status: int = 400
    code: str = "domain_error"
    detail: str = "The request cannot be carried out."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.detail
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors
        super().__init__(self.detail)


class EngineError(DomainError):
    """An error raised by the SQL engine (``[PGGIT-<CODE>] message``), mapped to HTTP."""

    def __init__(
        self,
        engine_code: str,
        message: str,
        hint: str | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        self.engine_code = engine_code
        self.hint = hint
        detail = f"{message} (hint: {hint})" if hint else message
        super().__init__(
            detail,
            code=ENGINE_API_CODES.get(engine_code, engine_code.lower()),
            status=engine_status(engine_code),
            errors=errors,
        )


# Engine code → HTTP status, the one mapping for every app. Checked in order: exact codes, then
# suffix rules, then the default.
# Add a code here when the engine gains one whose meaning is "conflicts with the current state".
ENGINE_CONFLICT_CODES = frozenset(
    {
        "NOTHING_TO_COMMIT",
        "WORKING_CHANGES",
        "DATA_LOSS",
        "BRANCH_EXISTS",
        "LOCKED",
        "PROTECTED",
        "UNRESOLVED_CONFLICTS",
        "MERGE_IN_PROGRESS",
        "ALREADY_MERGED",
        "BRANCH_IS_HEAD",
        "CAPTURE_DISABLED",
        "APPLY_FAILED",
        "APPLY_VERIFY_FAILED",
        "MERGE_NOT_OPEN",
        "MERGE_DEPENDENCY",
        "TARGET_MOVED",
        "NO_MERGE_BASE",
        "ROLLBACK_REFUSED",
        "NOTHING_TO_REVERT",
        "NOTHING_TO_RESET",
        "NOTHING_TO_UNDO",
        "COMMIT_NOT_ON_BRANCH",
        "ALERT_ALREADY_ACKNOWLEDGED",
        "ALERT_ALREADY_RESOLVED",
    }
)
# Engine codes whose API error code is not the engine code in lower case.
ENGINE_API_CODES = {"WEBHOOK_DISABLED_CONFLICT": "webhook_disabled"}
# Engine codes that mean an operation itself failed (its migration did not apply), as opposed to a
# refusal of the request (bad input, an unknown name, working changes, data loss, a lock held...),
# which the caller can act on: only these and database errors without an engine code are failures
# the console records for monitoring (vcs.services.recorded_failure).
ENGINE_FAILURE_CODES = frozenset({"APPLY_FAILED", "APPLY_VERIFY_FAILED"})
ENGINE_SUFFIX_STATUS: tuple[tuple[str, int], ...] = (
    ("NOT_FOUND", 404),
    ("_EXISTS", 409),
    ("_IN_PROGRESS", 409),
    ("_LOCKED", 409),
    ("_CONFLICT", 409),
)
ENGINE_DEFAULT_STATUS = 400
# Engine codes with a status of their own.
ENGINE_EXACT_STATUS = {"PERMISSION_DENIED": 403}
# SQLSTATE 42501 (insufficient_privilege): the database role may not run that engine function or
# write that table (docs/security.md, "Database roles"); reported as the engine code
# PERMISSION_DENIED with what to grant.
INSUFFICIENT_PRIVILEGE = "42501"
PERMISSION_HINT = (
    "grant the database role pggit_reader (status, log, diff, show...) or pggit_operator "
    "(commit, branches, checkout, merge, revert): GRANT pggit_operator TO <role>"
)
ENGINE_MESSAGE = re.compile(r"^\[PGGIT-(?P<code>[A-Z0-9_]+)\]\s*(?P<message>.*)$", re.DOTALL)


def engine_status(engine_code: str) -> int:
    if engine_code in ENGINE_EXACT_STATUS:
        return ENGINE_EXACT_STATUS[engine_code]
    if engine_code in ENGINE_CONFLICT_CODES:
        return 409
    for suffix, status in ENGINE_SUFFIX_STATUS:
        if engine_code.endswith(suffix):
            return status
    return ENGINE_DEFAULT_STATUS


def engine_error_from(exc: BaseException) -> EngineError | None:
    """The ``EngineError`` carried by a database exception, or None when it is not one.

    Accepts Django's wrapped ``DatabaseError`` or the underlying psycopg error.
    """
    for candidate in (exc.__cause__, exc):  # the driver's error first: it has the hint
        if candidate is None:
            continue
        diag = getattr(candidate, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        text = primary or str(candidate)
        match = ENGINE_MESSAGE.match(text.strip())
        if match:
            hint = getattr(diag, "message_hint", None) if diag is not None else None
            message = match.group("message").split("\n", 1)[0].strip()
            errors = _engine_findings(getattr(diag, "message_detail", None) if diag else None)
            return EngineError(match.group("code"), message, hint, errors)
        if getattr(diag, "sqlstate", None) == INSUFFICIENT_PRIVILEGE and primary:
            return EngineError("PERMISSION_DENIED", primary.strip(), PERMISSION_HINT)
    return None


def _engine_findings(detail: str | None) -> dict[str, Any] | None:
    """``{"findings": [...]}`` when an engine refusal carries them in its DETAIL (revert, reset,
    undo, a merge that would break dependencies: ``pggit.raise_refusal``), else None."""
    if not detail or not detail.startswith('{"findings"'):
        return None
    try:
        parsed = json.loads(detail)
    except ValueError:
        return None
    findings = parsed.get("findings") if isinstance(parsed, dict) else None
    return {"findings": findings} if isinstance(findings, list) else None


@dataclass
class ErrorBody:
    status: int
    detail: str
    code: str
    errors: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        body["request_id"] = current_request_id()
        return body


STATUS_CODES = {
    400: ("bad_request", "Bad request."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    406: ("not_acceptable", "Could not satisfy the request Accept header."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("request_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("throttled", "Request was throttled."),
    500: ("server_error", "Internal server error."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}


def body_for_status(status: int, detail: str | None = None) -> ErrorBody:
    code, default_detail = STATUS_CODES.get(status, ("error", "The request failed."))
    return ErrorBody(status=status, detail=detail or default_detail, code=code)


def error_response(body: ErrorBody) -> JsonResponse:
    response = JsonResponse(body.as_dict(), status=body.status)
    for name, value in body.headers.items():
        response[name] = value
    return response


def _validation_body(exc: drf_exceptions.ValidationError) -> ErrorBody:
    errors = exc.detail
    if not isinstance(errors, dict):
        errors = {
            api_settings.NON_FIELD_ERRORS_KEY: errors if isinstance(errors, list) else [errors]
        }
    return ErrorBody(status=400, detail="Invalid input.", code="invalid", errors=errors)


def _api_exception_body(exc: drf_exceptions.APIException) -> ErrorBody:
    if isinstance(exc, drf_exceptions.ValidationError):
        return _validation_body(exc)
    detail, codes = exc.detail, exc.get_codes()
    if isinstance(detail, dict):  # e.g. SimpleJWT's {"detail", "code", "messages"}
        codes = detail.get("code", codes.get("detail") if isinstance(codes, dict) else codes)
        detail = detail.get("detail", body_for_status(exc.status_code).detail)
    elif isinstance(detail, list):
        detail = " ".join(str(item) for item in detail)
    body = ErrorBody(status=exc.status_code, detail=str(detail), code=str(codes))
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        body.headers["WWW-Authenticate"] = auth_header
    if getattr(exc, "wait", None) is not None:
        # whole seconds, rounded up: retrying after a rounded-down wait would be refused again
        body.headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    return body


def error_for_exception(exc: BaseException) -> ErrorBody:
    """The error body for any exception; unexpected ones are logged and become a bare 500."""
    if isinstance(exc, DomainError):
        return ErrorBody(status=exc.status, detail=exc.detail, code=exc.code, errors=exc.errors)
    if isinstance(exc, drf_exceptions.APIException):
        return _api_exception_body(exc)
    if isinstance(exc, Http404):
        return body_for_status(404)
    if isinstance(exc, PermissionDenied):
        return body_for_status(403)
    if isinstance(exc, RequestDataTooBig):
        return body_for_status(413)
    if isinstance(exc, (BadRequest, SuspiciousOperation)):
        return body_for_status(400)
    if isinstance(exc, DatabaseError):
        engine_error = engine_error_from(exc)
        if engine_error is not None:
            return error_for_exception(engine_error)
        if isinstance(exc, OperationalError):
            database_reachability.record_failure(exc)
            logger.error("database unavailable: %s", type(exc).__name__)
            return body_for_status(503, "The database is unavailable; try again shortly.")
    logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return body_for_status(500)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse:
    """DRF ``EXCEPTION_HANDLER``: every exception raised in an API view gets the one error shape.

    The answer keeps DRF's context (the view and DRF's request) as ``renderer_context``, where a
    DRF ``Response`` has it, so that the web process can free them when the request ends
    (``pggit_project.serving._break_cycles``)."""
    set_rollback()
    response = error_response(error_for_exception(exc))
    response.renderer_context = context
    return response
