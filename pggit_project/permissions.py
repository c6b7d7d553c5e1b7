"""Authorisation for the API: reading needs a user, changing needs the matching permission."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

MODEL_ACTION_FOR_METHOD = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class ModelPermissionsForChanges(BasePermission):
    """Reads: any authenticated user. Changes: staff, or a user holding the required permissions.

    The required permissions of a change are, in order:
    1. ``view.required_permissions[<action>]`` where ``<action>`` is the viewset action
       (``"checkout"``, ``"create"``) or, for plain API views, the lower-case HTTP method
       (``"post"``) — e.g. ``required_permissions = {"checkout": ["vcs.checkout_branch"]}``;
    2. otherwise Django's model permission for the method on ``view.queryset``'s model
       (POST → ``add``, PUT/PATCH → ``change``, DELETE → ``delete``);
    3. otherwise nothing grants it: only staff may make the change.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or user.is_staff:
            return True
        required = self.required_permissions(request, view)
        return bool(required) and user.has_perms(required)

    def required_permissions(self, request, view) -> list[str]:
        declared = getattr(view, "required_permissions", None) or {}
        for key in (getattr(view, "action", None), request.method.lower()):
            if key and key in declared:
                return list(declared[key])
        queryset = getattr(view, "queryset", None)
        action = MODEL_ACTION_FOR_METHOD.get(request.method)
        if queryset is None or action is None:
            return []
        meta = queryset.model._meta
        return [f"{meta.app_label}.{action}_{meta.model_name}"]
