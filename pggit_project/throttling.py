"""Throttling of the token endpoint: password guessing is limited per client address.

``POST /api/v1/auth/token`` takes at most ``PGGIT_TOKEN_RATE`` requests per client address (the
connection's address, or the one ``DJANGO_NUM_PROXIES`` hops back in ``X-Forwarded-For``); more
are refused with 429 and ``Retry-After``. The counts live in the default cache, so with Redis they
are shared by all web processes. The other endpoints need a valid token and are not throttled.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str:
        # Read when the throttle is made (not when DRF is imported), so settings changes apply.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ThrottledTokenObtainPairView(TokenObtainPairView):
    """Takes a username and password; returns an access and a refresh token.

    Throttled per client address (`PGGIT_TOKEN_RATE`, 20 a minute by default): past the rate,
    429 with `Retry-After`.
    """

    throttle_classes = [TokenRateThrottle]
