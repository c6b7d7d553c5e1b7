"""Content negotiation: DRF's, its answer for what nearly every API client sends known in advance.

DRF's ``DefaultContentNegotiation.select_renderer`` parses the ``Accept`` header into media types
and matches them against the view's renderers on every request (about 3 % of an uncached list's
samples). For a request without a format override (no ``?format=``, no URL suffix) whose ``Accept``
is absent, ``*/*`` or ``application/json``, and a view whose first renderer's media type is exactly
``application/json``, that answer is always the first renderer with ``application/json``; those
requests get it without the parse. Every other request (another ``Accept``, parameters such as
``indent``, a list of types, a format override) is negotiated by DRF as before, with the same
answers and the same 406s.

The early hit path (``cachemgmt.hitpath``) answers cached reads before DRF runs only for views whose
negotiation it knows the answer of (``KNOWN_NEGOTIATION``: DRF's class and this one, by identity):
a view with any other class, a subclass of this one included, takes the ordinary path.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

JSON = "application/json"
# Accept values whose outcome is the first renderer when that renderer's media type is JSON: DRF
# returns it with its own media type for "*/*" (more specific than the header) and the header's
# own "application/json" for an exact match — the same text.
PLAIN_ACCEPTS = (None, "*/*", JSON)


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            renderers
            and renderers[0].media_type == JSON
            and not format_suffix
            and request.META.get("HTTP_ACCEPT") in PLAIN_ACCEPTS
            and not request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        ):
            return renderers[0], JSON
        return super().select_renderer(request, renderers, format_suffix)
