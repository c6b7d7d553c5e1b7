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
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings


class JWTAuthentication(authentication.JWTAuthentication):
    """SimpleJWT's ``JWTAuthentication`` with the user from the process's user states."""

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
