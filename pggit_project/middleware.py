"""Request ids and the JSON error shape for everything outside DRF."""

from __future__ import annotations

import logging
import time

from pggit_project.constants import REQUEST_ID_HEADER
from pggit_project.errors import body_for_status, error_for_exception, error_response
from pggit_project.request_id import bind_request_id, choose_request_id

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("pggit.access")

# Headers that must survive when a non-JSON error response is rewritten into the error shape.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "Vary")


class RequestIdMiddleware:
    """Gives every request an id (the client's ``X-Request-ID`` if well formed, else a new one).

    The id is bound to a context variable so log lines carry it (until ``request_finished``
    unbinds it: Django logs 4xx/5xx responses after the middleware chain has returned), is
    available as ``request.request_id`` and is echoed in the response's ``X-Request-ID``.
    Must be the first middleware so that every response, including errors, gets the header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        bind_request_id(request_id)
        started = time.monotonic()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        access_logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith("application/json") or "+json" in content_type


class JsonErrorMiddleware:
    """The error shape for errors that DRF does not handle.

    - An exception escaping a non-DRF view becomes the JSON body of ``error_for_exception``
      (unexpected ones are logged with their traceback and answered as a bare 500).
    - A 4xx/5xx response that is not JSON (Django's 404 page in debug mode, the CSRF failure page,
      the admin's 403) is rewritten into the error shape, keeping its status and key headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or _is_json(response):
            return response
        rewritten = error_response(body_for_status(response.status_code))
        for header in KEPT_HEADERS:
            if header in response:
                rewritten[header] = response[header]
        return rewritten

    def process_exception(self, request, exception):
        return error_response(error_for_exception(exception))
