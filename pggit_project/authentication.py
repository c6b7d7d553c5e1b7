"""API authentication: SimpleJWT's access tokens, the token's user read without a query per request.

``JWTAuthentication`` is SimpleJWT's (same token checks, same errors: 401 ``user_not_found``,
``user_inactive``, ``password_changed``), except where the user comes from. SimpleJWT reads the user
with one query per request, and the permission check (``RolePermissions``) two more. Here the
user and its permissions come from the process's user states (``cachemgmt.hitpath.UserStates``,
which the early hit path uses too): a state is used only while the user-state generation it was
read under is still the current one, which each request reads (one Redis round trip). Every change
to a user, a group membership or a permission bumps that generation — through Django at once in
this process and, once committed, in every process; by SQL through the change trigger and the
listener — so a deactivated user, a changed password or a removed role is refused as it was before
(docs/security.md, "Tokens"). When the generation cannot be read (Redis unreachable; without Redis,
before the process follows the database's notices), the user is read from the database as SimpleJWT
does.

Each request gets its own copy of the user (``UserState.user_copy``), its permissions known.

A token's signature is checked once per process (``ValidatedTokens``): a token string that was
validated is remembered with its claims, and every later use of it builds the token from them and
runs SimpleJWT's own checks that depend on the time or the settings again (``Token.verify``:
expiry with the configured leeway, token type, ``jti``). Only tokens that passed are remembered,
under the signing settings they passed with; anything else is decoded as before, with the same
errors.
"""

from __future__ import annotations

import threading

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import aware_utcnow

# Token strings whose signature this process has checked, at most (about 1 KiB each).
VALIDATED_TOKENS_MAX = 4096


class ValidatedTokens:
    """token string → (token class, claims) of tokens whose signature was checked (see the module
    docstring). Bounded: the oldest is dropped first."""

    def __init__(self, max_entries: int = VALIDATED_TOKENS_MAX) -> None:
        self.max_entries = max_entries
        self._tokens: dict[tuple, tuple[type, dict]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(raw_token) -> tuple:
        # The settings a signature check depends on: a change (tests override them) is a miss.
        return (
            bytes(raw_token) if not isinstance(raw_token, str) else raw_token.encode(),
            api_settings.SIGNING_KEY,
            api_settings.VERIFYING_KEY,
            api_settings.ALGORITHM,
            repr(api_settings.AUDIENCE),
            repr(api_settings.ISSUER),
            tuple(api_settings.AUTH_TOKEN_CLASSES),
        )

    def get(self, raw_token):
        """A token built from the remembered claims and verified now, or ``None``: not
        remembered, or no longer valid (expired since; the caller then decodes it again, which
        gives SimpleJWT's own error)."""
        key = self._key(raw_token)
        found = self._tokens.get(key)
        if found is None:
            return None
        token_class, payload = found
        token = token_class.__new__(token_class)
        token.token = raw_token
        token.current_time = aware_utcnow()
        token.payload = dict(payload)
        try:
            token.verify()
        except TokenError:
            with self._lock:
                self._tokens.pop(key, None)
            return None
        return token

    def remember(self, raw_token, token) -> None:
        key = self._key(raw_token)
        with self._lock:
            if len(self._tokens) >= self.max_entries:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[key] = (type(token), dict(token.payload))

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


validated_tokens = ValidatedTokens()


class JWTAuthentication(authentication.JWTAuthentication):
    """SimpleJWT's ``JWTAuthentication`` with the user from the process's user states and each
    token's signature checked once per process."""

    def get_validated_token(self, raw_token):
        token = validated_tokens.get(raw_token)
        if token is not None:
            return token
        token = super().get_validated_token(raw_token)
        validated_tokens.remember(raw_token, token)
        return token

    def get_user(self, validated_token):
        from cachemgmt.hitpath import user_states

        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        state = user_states.for_request(user_id)
        if state is False:
            return super().get_user(validated_token)
        if state is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not state.active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if (
            api_settings.CHECK_REVOKE_TOKEN
            and validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != state.password
        ):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return state.user_copy()


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of ``JWTAuthentication``: SimpleJWT's (``jwtAuth``)."""

    target_class = "pggit_project.authentication.JWTAuthentication"
