"""Authorisation for the API: every request needs the permission of what it reads or changes.

The roles (groups ``viewer``, ``operator``, ``admin``, made by the migration
``pggit_project/migrations/0003_roles.py``) are sets of these permissions; docs/security.md lists
what each may see and do.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

MODEL_ACTION_FOR_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}
# Seeing secrets inside answers: the path and query of webhook target URLs (capability URLs carry
# secrets there), delivery payloads and receivers' answers, client addresses of the DDL audit.
VIEW_SENSITIVE = "pggit_project.view_sensitive"


def required_permissions(view, action: str | None, method: str) -> list[str]:
    """The permissions a request needs (all of them); ``[]``: none grants it (superuser only).

    In order:
    1. ``view.required_permissions[<key>]`` for the first key declared among the viewset action
       (``"checkout"``, ``"list"``), the lower-case HTTP method (``"post"``) and, for reads,
       ``"get"`` — e.g. ``required_permissions = {"checkout": ["vcs.checkout_branch"]}``;
    2. otherwise Django's model permission for the method on ``view.queryset``'s model
       (GET/HEAD/OPTIONS → ``view``, POST → ``add``, PUT/PATCH → ``change``, DELETE → ``delete``).

    ``view`` is the view instance or its class (the early hit path has no instance).
    """
    declared = getattr(view, "required_permissions", None) or {}
    keys = [action, method.lower()]
    if method in SAFE_METHODS:
        keys.append("get")
    for key in keys:
        if key and key in declared:
            return list(declared[key])
    queryset = getattr(view, "queryset", None)
    model_action = MODEL_ACTION_FOR_METHOD.get(method)
    if queryset is None or model_action is None:
        return []
    meta = queryset.model._meta
    return [f"{meta.app_label}.{model_action}_{meta.model_name}"]


class RolePermissions(BasePermission):
    """An authenticated user holding every permission ``required_permissions`` names."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # a method the view lacks: the view answers 405 with Allow
        required = required_permissions(view, getattr(view, "action", None), request.method)
        return bool(required) and user.has_perms(required)


def sees_sensitive(user) -> bool:
    """Whether ``user`` may see the secrets inside answers (``VIEW_SENSITIVE``)."""
    return bool(user and user.is_authenticated and user.has_perm(VIEW_SENSITIVE))


SEES_SENSITIVE_KEY = "pggit_sees_sensitive"


def request_sees_sensitive(context) -> bool:
    """``sees_sensitive`` for a serializer's context (no request: an internal caller, who may);
    asked once per context, which a list's serializers share (not once per item)."""
    request = context.get("request") if context else None
    if request is None:
        return True
    known = context.get(SEES_SENSITIVE_KEY)
    if known is None:
        known = context[SEES_SENSITIVE_KEY] = sees_sensitive(request.user)
    return known
