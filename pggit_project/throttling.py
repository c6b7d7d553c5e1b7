"""Limits on password guessing (docs/security.md, "Throttles and lockouts").

Two limits apply to ``POST /api/v1/auth/token``:

- a rate per client address (``PGGIT_TOKEN_RATE``, ``TokenRateThrottle``): more requests are
  refused with 429 and ``Retry-After``. The counts live in the default cache, so with Redis they
  are shared by all web processes. While the cache cannot be reached, each process counts in its
  own memory instead (the same rate per process) and logs a warning: logging in keeps working,
  a little less strictly limited, and no request fails because of Redis;
- the lockout of django-axes (``PGGIT_LOGIN_FAILURE_LIMIT`` failures for one user name from one
  address lock that pair out for ``PGGIT_LOGIN_COOLOFF_MINUTES``), shared with ``/admin/login/``:
  both count their failures in the same table (``axes_accessattempt``, in PostgreSQL). While
  locked out, even the right password is refused (429 ``locked_out`` with ``Retry-After``).

The client address is the connection's, or the one ``DJANGO_NUM_PROXIES`` hops back in
``X-Forwarded-For`` (``client_address``); both limits use it.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache.backends.locmem import LocMemCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView

from pggit_project.errors import ErrorBody, error_response

logger = logging.getLogger(__name__)

# What the cache raises when Redis cannot be reached.
CACHE_ERRORS = (RedisError, ConnectionInterrupted, ConnectionError, OSError)
# Process-local counts used while the shared cache cannot be reached.
LOCAL_COUNTS = LocMemCache("pggit-token-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10000}})
# At most one warning about the fallback per this many seconds (not one per login).
WARNING_INTERVAL_SECONDS = 60.0
USERNAME_MAX_LENGTH = 150  # django.contrib.auth's; axes_accessattempt.username holds 255
_last_warning = 0.0


def client_address(request) -> str | None:
    """The client's address as the throttles see it (``NUM_PROXIES`` hops back in
    ``X-Forwarded-For``, else the connection's); also django-axes' ``AXES_CLIENT_IP_CALLABLE``."""
    return BaseThrottle().get_ident(request)


def attempted_username(request, credentials=None) -> str | None:
    """django-axes' ``AXES_USERNAME_CALLABLE``: the user name tried, as text PostgreSQL stores
    (no NUL character; at most ``USERNAME_MAX_LENGTH`` characters, the lockout table's width)."""
    source = credentials if credentials else getattr(request, "data", None) or request.POST
    try:
        value = source.get(settings.AXES_USERNAME_FORM_FIELD)
    except AttributeError:  # a JSON body that is not an object
        return None
    if value is None:
        return None
    return str(value).replace("\x00", "")[:USERNAME_MAX_LENGTH]


def _warn_fallback(exc: BaseException) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARNING_INTERVAL_SECONDS:
        _last_warning = now
        logger.warning(
            "token throttle: the cache cannot be reached (%s); counting token requests in this "
            "process's memory until it is back",
            type(exc).__name__,
        )


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str:
        # Read when the throttle is made (not when DRF is imported), so settings changes apply.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            _warn_fallback(exc)
            self.cache = LOCAL_COUNTS
            return super().allow_request(request, view)


class LockedOut(Throttled):
    default_detail = "Too many failed logins for this user name from this address."
    default_code = "locked_out"


def cool_off_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


class ThrottledTokenObtainPairView(TokenObtainPairView):
    """Takes a username and password; returns an access and a refresh token.

    Throttled per client address (`PGGIT_TOKEN_RATE`, 20 a minute by default): past the rate,
    429 `throttled` with `Retry-After`. After `PGGIT_LOGIN_FAILURE_LIMIT` (10) failed logins for
    one user name from one address, here or at `/admin/login/`, that pair is locked out for
    `PGGIT_LOGIN_COOLOFF_MINUTES` (15): 429 `locked_out` with `Retry-After`, even for the right
    password.
    """

    throttle_classes = [TokenRateThrottle]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except AuthenticationFailed:
            # django-axes flags the request it was given (DRF's) when the pair is locked out.
            if getattr(request, "axes_locked_out", False):
                raise LockedOut(wait=cool_off_seconds()) from None
            raise
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        # A login like the admin's: last_login is set (django.contrib.auth's receiver) and
        # django-axes forgets the user's failures (AXES_RESET_ON_SUCCESS).
        user_logged_in.send(sender=type(serializer.user), request=request, user=serializer.user)
        return Response(serializer.validated_data, status=200)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' ``AXES_LOCKOUT_CALLABLE`` (``/admin/login/``): the API's error shape."""
    wait = max(1, math.ceil(cool_off_seconds()))
    body = ErrorBody(
        status=429,
        detail=f"{LockedOut.default_detail} Try again in {wait} seconds.",
        code=LockedOut.default_code,
        headers={"Retry-After": str(wait)},
    )
    return error_response(body)
