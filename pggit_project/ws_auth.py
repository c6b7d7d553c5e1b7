"""WebSocket authentication: access tokens (three ways) and staff sessions with an origin check.

A socket authenticates with a SimpleJWT access token given
- in the ``Sec-WebSocket-Protocol`` header, as the two subprotocols ``bearer, <token>`` (the server
  answers with the subprotocol ``bearer``),
- as the query parameter ``?token=<token>`` (never written to a log), or
- in its first message ``{"action": "auth", "token": "<token>"}``,
or, from a browser, with the session cookie of a logged-in staff user, when the ``Origin`` header
is the site itself (or listed in ``CSRF_TRUSTED_ORIGINS``): cookies are sent by the browser to any
page's sockets, so the origin says whether this site's page opened it. See docs/realtime.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

SUBPROTOCOL = "bearer"


class AuthFailed(Exception):
    """The credentials were refused; ``code`` is the error code sent before closing (4401)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identity:
    user: object
    expires_at: datetime | None  # None: a session, which does not expire during the connection
    by: str  # "token" or "session"


def token_from_subprotocols(subprotocols: list[str]) -> tuple[str | None, str | None]:
    """``(token, subprotocol to answer)`` from the offered subprotocols ``bearer, <token>``."""
    if SUBPROTOCOL in subprotocols:
        index = subprotocols.index(SUBPROTOCOL)
        if index + 1 < len(subprotocols):
            return subprotocols[index + 1], SUBPROTOCOL
        return "", SUBPROTOCOL
    return None, None


def _load_user(user_id):
    model = get_user_model()
    try:
        return model.objects.get(**{jwt_settings.USER_ID_FIELD: user_id})
    except (model.DoesNotExist, ValueError, TypeError):
        return None


async def identity_from_token(raw: object) -> Identity:
    if not isinstance(raw, str) or not raw:
        raise AuthFailed("not_authenticated", "No access token was given.")
    try:
        token = AccessToken(raw)
    except TokenError:
        raise AuthFailed("token_not_valid", "The access token is invalid or expired.") from None
    user = await database_sync_to_async(_load_user)(token.get(jwt_settings.USER_ID_CLAIM))
    if user is None or not user.is_active:
        raise AuthFailed("token_not_valid", "The access token's user is unknown or inactive.")
    expires_at = datetime.fromtimestamp(int(token["exp"]), tz=UTC)
    return Identity(user=user, expires_at=expires_at, by="token")


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope) -> bool:
    """The ``Origin`` is this site (same host as the ``Host`` header) or a trusted origin."""
    origin = _header(scope, b"origin")
    if not origin:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    host = _header(scope, b"host")
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc == host


async def session_user(scope):
    """The logged-in staff user of the session cookie, or None."""
    if "user" not in scope:
        return None
    user = scope["user"]
    authenticated = await database_sync_to_async(
        lambda: bool(user.is_authenticated and user.is_active and user.is_staff)
    )()
    return user if authenticated else None


# --- ?token= never reaches a log -----------------------------------------------------------------

TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"']*")
# Servers that log a socket's path with its query string (uvicorn: "WebSocket /ws?token=..."
# [accepted]).
SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access", "daphne", "daphne.access", "django.channels")


class RedactTokenFilter(logging.Filter):
    """Replaces the value of any ``token=`` query parameter in a record by ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg = TOKEN_IN_QUERY.sub(r"\1[redacted]", message)
            record.args = None
        return True


def install_token_redaction() -> None:
    redact = RedactTokenFilter()
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokenFilter) for existing in logger.filters):
            logger.addFilter(redact)
