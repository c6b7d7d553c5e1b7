"""Refreshing and revoking API tokens (docs/security.md, "Tokens").

- A refresh token is used once: ``POST /api/v1/auth/token/refresh`` answers a new access token
  *and* a new refresh token, and blacklists the one it was given (SimpleJWT's ``token_blacklist``
  app; ``ROTATE_REFRESH_TOKENS`` and ``BLACKLIST_AFTER_ROTATION``). Using it again is a 401.
- Every token carries a digest of the user's password hash (SimpleJWT's ``CHECK_REVOKE_TOKEN``):
  after a password change, access tokens are refused by ``JWTAuthentication`` (and by the early
  hit path, ``cachemgmt.hitpath``) and refresh tokens by ``TokenRefreshSerializer`` below.
- A deactivated or deleted user's tokens are refused (401); deactivating a user also blacklists
  every refresh token issued to them, so reactivating the account does not revive them.
- Django's admin sessions end by themselves on a password change (the session keeps a hash of
  the password) and on deactivation (the authentication backend refuses inactive users).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import get_md5_hash_password
from rest_framework_simplejwt.views import TokenRefreshView as SimpleTokenRefreshView


def password_digest(password_hash: str) -> str:
    """The revocation claim of a user's tokens: changes whenever the password does."""
    return get_md5_hash_password(password_hash)


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """A refresh token in; a new access token and a new refresh token out (the one given is
    blacklisted)."""

    # SimpleJWT's checks, plus 401 for tokens of users that are gone, inactive or whose password
    # changed since the token was issued.

    default_error_messages = {
        "no_active_account": "No active account found for the given token.",
        "password_changed": "The user's password has changed since this token was issued.",
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])  # signature, expiry, type, blacklist
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = (
            get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
            if user_id is not None
            else None
        )
        if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            )
        if api_settings.CHECK_REVOKE_TOKEN and refresh.payload.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != password_digest(user.password):
            raise AuthenticationFailed(self.error_messages["password_changed"], "password_changed")
        return super().validate(attrs)


class TokenRefreshView(SimpleTokenRefreshView):
    """Takes a refresh token; returns a new access token and a new refresh token.

    The refresh token given is blacklisted: each one is used once. 401 when it is invalid,
    expired, already used, or its user is deleted, deactivated or changed password since.
    """

    serializer_class = TokenRefreshSerializer


def blacklist_refresh_tokens_of(user) -> int:
    """Blacklist every unexpired refresh token issued to ``user``; how many were added."""
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    tokens = list(outstanding)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in tokens], ignore_conflicts=True
    )
    return len(tokens)


def end_tokens_of_deactivated_user(sender, instance, **kwargs) -> None:
    """``post_save`` of the user model: a deactivated user's refresh tokens are blacklisted."""
    if not getattr(instance, "is_active", True) and not kwargs.get("raw"):
        blacklist_refresh_tokens_of(instance)
