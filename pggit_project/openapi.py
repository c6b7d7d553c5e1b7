"""OpenAPI generation (drf-spectacular): the error shape on every operation, clean paths.

``AutoSchema`` documents the project's error responses next to each operation's own responses:
400 for bodies and lists, 401 for protected operations, 403 for those that need a permission
(``RolePermissions``: reads too), 404 for paths with an id, 429 for throttled operations. Views
declare only their success responses and their domain-specific errors (e.g. 409).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase

from pggit_project.permissions import RolePermissions


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx/5xx response."""

    detail = serializers.CharField(help_text="Human-readable message.")
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field (400 validation errors only).",
    )
    request_id = serializers.CharField(help_text="The request's `X-Request-ID`.")

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    "400": "Invalid input or parameters.",
    "401": "Missing, invalid or expired token (`WWW-Authenticate: Bearer`).",
    "403": "The user lacks the permission for this operation.",
    "404": "No such object.",
    "429": "Too many requests: retry after `Retry-After` seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        permissions = self.view.get_permissions()
        public = all(isinstance(p, AllowAny) for p in permissions)
        codes = []
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            codes.append("400")
        if isinstance(self.view, TokenViewBase):
            codes.append("401")  # wrong credentials or an invalid token
        elif not public:
            codes.append("401")
            if any(isinstance(p, RolePermissions) for p in permissions):
                codes.append("403")
        if "{" in self.path:
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses


def strip_optional_slash(endpoints, **kwargs):
    """Preprocessing hook: a route with an optional trailing slash is documented without it.

    Clients call ``/api/v1/things`` (docs/api.md, Conventions); drf-spectacular renders the ``/?``
    of the route's regex as ``/``.
    """
    cleaned = []
    for path, path_regex, method, callback in endpoints:
        if path_regex.endswith("/?$") and path.endswith("/"):
            path = path[:-1]
        cleaned.append((path, path_regex, method, callback))
    return cleaned
