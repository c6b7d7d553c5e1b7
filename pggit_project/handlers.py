"""Django's error views (``handler400/403/404/500`` and the CSRF failure view), in the error shape.

They answer what happens outside any view: unknown URLs, exceptions in middleware, CSRF refusals.
"""

from __future__ import annotations

from pggit_project.errors import body_for_status, error_response


def bad_request(request, exception=None):
    return error_response(body_for_status(400))


def permission_denied(request, exception=None):
    return error_response(body_for_status(403))


def page_not_found(request, exception=None):
    return error_response(body_for_status(404))


def server_error(request):
    return error_response(body_for_status(500))


def csrf_failure(request, reason=""):
    body = body_for_status(403, "CSRF verification failed.")
    body.code = "csrf_failed"
    return error_response(body)
