"""Request ids, the JSON error shape for everything outside DRF, and early checks of API input."""

from __future__ import annotations

import io
import logging
import time

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions as drf_exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.views import APIView

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


BODY_METHODS = ("POST", "PUT", "PATCH")
NUL = "\x00"
# The deepest nesting of arrays and objects a JSON body may have (the API's deepest body nests
# a few levels); deeper is a 400 before any view runs, never a RecursionError (a 500).
MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."


def nested_deeper_than(data, limit: int) -> bool:
    """Whether arrays/objects in ``data`` nest deeper than ``limit`` (iterative: any depth)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class ApiInputMiddleware:
    """Input no view can use is refused before any view runs, in the error shape.

    - A NUL character in the path or the query string is a 400 (PostgreSQL text cannot hold it).
    - The body of a POST/PUT/PATCH to an API view is parsed up front, so that a view that reads
      none of it still refuses what DRF would refuse: a media type its parsers do not take (415),
      malformed JSON (400 ``parse_error``), and a JSON body that is not an object (400
      ``invalid``: every body of the API is an object), and JSON nested deeper than
      ``MAX_JSON_DEPTH`` (400 ``parse_error``: the parser's recursion would be a 500).
      Authentication and permissions run later, in the view; DRF parses the body again from the
      bytes read here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path_info or any(
            NUL in key or any(NUL in value for value in values)
            for key, values in request.GET.lists()
        ):
            return error_response(body_for_status(400, "The URL contains a NUL character."))
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if request.method not in BODY_METHODS or not (
            isinstance(view_class, type) and issubclass(view_class, APIView)
        ):
            return None
        try:
            body = request.body
        except RequestDataTooBig as exc:
            return error_response(error_for_exception(exc))
        if not body:
            return None
        try:
            parser, data = self._parse(request, view_class, body)
        except drf_exceptions.APIException as exc:
            return error_response(error_for_exception(exc))
        if isinstance(parser, JSONParser) and not isinstance(data, dict):
            kind = "null" if data is None else type(data).__name__
            return error_response(
                error_for_exception(
                    drf_exceptions.ValidationError(
                        {
                            api_settings.NON_FIELD_ERRORS_KEY: [
                                f"The body must be a JSON object; got {kind}."
                            ]
                        }
                    )
                )
            )
        return None

    @staticmethod
    def _parse(request, view_class, body: bytes):
        """(the parser DRF would pick, the parsed body); raises DRF's 415 and parse errors."""
        parsers = [parser() for parser in view_class.parser_classes]
        parser = DefaultContentNegotiation().select_parser(request, parsers)
        if parser is None:
            raise drf_exceptions.UnsupportedMediaType(request.META.get("CONTENT_TYPE", ""))
        context = {"request": request, "encoding": request.encoding or "utf-8"}
        try:
            data = parser.parse(io.BytesIO(body), request.content_type, context)
        except RecursionError:
            raise drf_exceptions.ParseError(TOO_DEEP) from None
        if isinstance(parser, JSONParser) and nested_deeper_than(data, MAX_JSON_DEPTH):
            raise drf_exceptions.ParseError(TOO_DEEP)
        return parser, data
