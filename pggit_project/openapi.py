"""OpenAPI generation (drf-spectacular): the error shape on every operation, clean paths.

``AutoSchema`` documents the project's error responses next to each operation's own responses:
400 for bodies, lists and any operation with query parameters, 401 for every operation that reads
a token (a public one too: a bad token is refused), 403 for those that need a permission
(``RolePermissions``: reads too), 404 for paths with an id, 429 for throttled operations. Views
declare only their success responses and their domain-specific errors (e.g. 409, or 404 for a ref
named in the query or body).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase

from pggit_project.permissions import RolePermissions

# A field's errors: a list of messages; for a list-valued field (``event_types``, ``matchers``)
# an object keyed by the position of each bad item, or a list with one entry per item, the item's
# own errors (an object by field) or messages.
FIELD_ERRORS_SCHEMA = {
    "oneOf": [
        {
            "type": "array",
            "items": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        },
        {"type": "object", "additionalProperties": True},
    ]
}


@extend_schema_field(FIELD_ERRORS_SCHEMA)
class FieldErrorsField(serializers.JSONField):
    """The errors of one field (documented as ``FIELD_ERRORS_SCHEMA``)."""


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx/5xx response."""

    detail = serializers.CharField(help_text="Human-readable message.")
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`.")
    errors = serializers.DictField(
        child=FieldErrorsField(),
        required=False,
        help_text="Validation errors by field (400 validation errors only): a list of messages, "
        "or for a list-valued field the errors of each bad item (an object keyed by position, "
        "or a list with one entry per item).",
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

# A ref (branch, commit, HEAD, WORKING) named in the query or the body that does not exist.
REF_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such ref (branch or commit).")


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        permissions = self.view.get_permissions()
        public = all(isinstance(p, AllowAny) for p in permissions)
        codes = []
        if (
            self.method in ("POST", "PUT", "PATCH")
            or self._is_list_view()
            or any(parameter["in"] == "query" for parameter in self._get_parameters())
        ):
            codes.append("400")
        if isinstance(self.view, TokenViewBase) or self.view.get_authenticators():
            codes.append("401")  # wrong credentials, or a missing, invalid or expired token
        if not public and any(isinstance(p, RolePermissions) for p in permissions):
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
        return dict(sorted(responses.items()))


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
