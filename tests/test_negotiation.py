"""Content negotiation (pggit_project.negotiation): DRF's answers, the usual Accept values without
the parse."""

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import (
    BrowsableAPIRenderer,
    JSONRenderer,
    StaticHTMLRenderer,
    TemplateHTMLRenderer,
)
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from pggit_project.negotiation import ContentNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=2",
    "application/json;q=0.5",
    "application/*",
    "text/html",
    "application/xml",
    "text/html, */*",
    "application/json, text/html",
    " application/json",
    "",
    "*/*;q=0.1",
]
RENDERER_LISTS = [
    [JSONRenderer],
    [JSONRenderer, BrowsableAPIRenderer],
    [BrowsableAPIRenderer, JSONRenderer],
    [StaticHTMLRenderer],
    [TemplateHTMLRenderer, JSONRenderer],
]


def outcome(negotiation, accept, query, renderers, suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/x{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(
            request, [renderer() for renderer in renderers], suffix
        )
    except NotAcceptable as exc:
        return ("406", str(exc.detail))
    except Exception as exc:  # the same exception either way is the point
        return (type(exc).__name__,)
    return (type(renderer), media_type)


@pytest.mark.parametrize("renderers", RENDERER_LISTS, ids=lambda r: "+".join(c.__name__ for c in r))
def test_the_answers_are_drfs(renderers):
    for accept in ACCEPTS:
        for query in ("", "?format=json", "?format=api", "?format=", "?page=2"):
            for suffix in (None, "json", "api"):
                ours = outcome(ContentNegotiation(), accept, query, renderers, suffix)
                drfs = outcome(DefaultContentNegotiation(), accept, query, renderers, suffix)
                assert ours == drfs, (accept, query, suffix)


def test_the_usual_accept_values_skip_the_parse():
    for accept in (None, "*/*", "application/json"):
        headers = {} if accept is None else {"HTTP_ACCEPT": accept}
        request = Request(APIRequestFactory().get("/x", **headers))
        renderer = JSONRenderer()
        assert ContentNegotiation().select_renderer(request, [renderer]) == (
            renderer,
            "application/json",
        )
        assert not hasattr(request, "_parsed_accept_list")
    request = Request(APIRequestFactory().get("/x", HTTP_ACCEPT="application/json; indent=2"))
    ContentNegotiation().select_renderer(request, [JSONRenderer()])
    assert hasattr(request, "_parsed_accept_list")  # DRF's path
