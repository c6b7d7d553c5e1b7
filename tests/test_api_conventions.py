"""The conventions of docs/api.md, checked over every route under /api/v1/ (walked from the URL
resolver).

For each route and each of its methods: hostile input (malformed JSON, bodies of the wrong type,
absurd query parameters, unknown, huge and non-numeric ids, NUL bytes, refs like ``~9999...``)
never gets a 5xx; every 4xx is JSON in the one error shape; every route but the token endpoints
needs a token; a method the route lacks is a 405 with ``Allow``; no route redirects, with or
without a slash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize
from rest_framework.test import APIClient

from tests.conftest import bearer

pytestmark = pytest.mark.django_db

API_PREFIX = "api/v1/"
WRITE_METHODS = ("post", "put", "patch")
ALL_METHODS = ("get", "post", "put", "patch", "delete")
NO_BODY = object()

# Values a path parameter is tried with. Numeric ids include one just past PostgreSQL's bigint.
NUMERIC_IDS = ["0", "1", "999999999999999999", "9999999999999999999"]
TEXT_IDS = [
    "no-such-thing",
    "0",
    "99999999999999999999",
    "~99999999999999999999",
    "HEAD~99999999999999999999",
    "%00",
    "a%00b",
    "%E2%98%83",
    "%C2%B2",
    "x" * 300,
]
BRANCH_NAMES = ["main", "no-such-branch", "a/b/c", "." * 3, "x" * 300]

# Absurd values for every query parameter a route documents, and for the pagination ones.
ABSURD_QUERY_VALUES = [
    "",
    "abc",
    "0",
    "-1",
    "1.5",
    "99999999999999999999",
    "~99999999999999999999",
    "HEAD~99999999999999999999",
    "%00",
    "not-a-date",
    "2024-13-45T99:99:99",
    "true,false",
    "%C2%B2",  # a superscript two: str.isdigit() says yes, int() says no
    "%D9%A3",  # an Arabic-Indic three: int() takes it
    "1_000",
    "%201",
]
PAGINATION_QUERIES = ["page=0", "page=abc", "page=-1", "page_size=0", "page_size=1000"]

MALFORMED_JSON = ['{"name": ', "{'single': 'quotes'}", "[1, 2", "nul", '{"a": 1}}']
WRONG_TYPED_BODIES = [[], "text", 42, None, True, [{"a": 1}]]
WRONG_FIELD_VALUES = [
    [],
    {},
    {"nested": {"deeper": [1]}},
    "\x00",
    "~99999999999999999999",
    99999999999999999999,
    -1,
    1.5,
    True,
    "x" * 5000,
    [99999999999999999999],
    ["\x00"],
]


@dataclass(frozen=True)
class Route:
    regex: str
    methods: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.regex

    def paths(self, existing: dict[str, str]) -> list[str]:
        """Concrete paths for this route: an existing object's first, then every hostile sample."""
        [(template, params)] = normalize(self.regex)[:1]
        if not params:
            return ["/" + template]
        paths = []
        collection = "/" + template.split("%(")[0].rstrip("/")
        for name in params:
            known = [existing[collection]] if collection in existing else []
            others = {other: samples_for(other, self.regex)[0] for other in params}
            for sample in known + samples_for(name, self.regex):
                paths.append("/" + template % {**others, name: sample})
        return list(dict.fromkeys(paths))


def samples_for(name: str, regex: str) -> list[str]:
    group = re.search(rf"\(\?P<{name}>([^)]*)\)", regex)
    numeric = group is not None and group.group(1).startswith("[0-9]")
    if numeric:
        return NUMERIC_IDS
    if name == "name":
        return BRANCH_NAMES
    return TEXT_IDS


def _regex_of(pattern) -> str:
    regex = pattern.pattern.regex.pattern
    return regex.removeprefix("^").removesuffix(r"\Z").removesuffix("$")


def _methods_of(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(m for m in ALL_METHODS if m in actions)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return tuple(m for m in ALL_METHODS if hasattr(view_class, m))


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + _regex_of(pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + _regex_of(pattern), pattern.callback


def api_routes() -> list[Route]:
    routes: dict[str, Route] = {}
    for regex, callback in _walk(get_resolver().url_patterns):
        # a WebSocket path answers any HTTP request with 426 (tests/realtime/test_http.py)
        if regex.startswith(API_PREFIX) and not getattr(callback, "websocket_path", False):
            methods = _methods_of(callback)
            known = routes.get(regex)
            merged = tuple(dict.fromkeys((known.methods if known else ()) + methods))
            routes[regex] = Route(regex=regex, methods=merged)
    return list(routes.values())


API_ROUTES = api_routes()
PUBLIC = ("api/v1/auth/token",)  # the token endpoints take credentials, not a token


def is_public(route: Route) -> bool:
    return route.regex.startswith(PUBLIC)


def describe(method: str, path: str, response, sent=NO_BODY) -> str:
    shown = "" if sent is NO_BODY else repr(sent)[:80]
    return f"{method.upper()} {path} {shown} -> {response.status_code} {response.content[:300]!r}"


def shape_problem(response) -> str | None:
    """What is wrong with ``response`` by the conventions, or None."""
    status = response.status_code
    if status >= 500:
        return "a 5xx"
    if status in (301, 302, 307, 308):
        return "a redirect"
    if status == 204:
        return None
    if not response["Content-Type"].startswith("application/json"):
        return f"Content-Type {response['Content-Type']}"
    if "X-Request-ID" not in response:
        return "no X-Request-ID"
    if status < 400:
        return timestamp_problem(response.json())
    body = response.json()
    if not isinstance(body, dict):
        return "an error body that is not an object"
    if set(body) - {"detail", "code", "errors", "request_id"}:
        return f"extra keys {sorted(set(body) - {'detail', 'code', 'errors', 'request_id'})}"
    if not (isinstance(body.get("detail"), str) and body["detail"]):
        return "no detail"
    if not (isinstance(body.get("code"), str) and body["code"]):
        return "no code"
    if body.get("request_id") != response["X-Request-ID"]:
        return "request_id differs from X-Request-ID"
    if "errors" in body and (status != 400 and status != 409):
        return "errors outside a 400/409"
    if status == 401 and response.get("WWW-Authenticate", "").split(" ")[0] != "Bearer":
        return "a 401 without WWW-Authenticate: Bearer"
    return None


def timestamp_problem(value, key: str = "") -> str | None:
    """A ``*_at`` value in ``value`` (recursively) that is not ISO 8601 with an offset, or None."""
    if isinstance(value, dict):
        for name, item in value.items():
            found = timestamp_problem(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = timestamp_problem(item, key)
            if found:
                return found
    elif key.endswith("_at") and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return f"{key}={value!r} is not ISO 8601"
        if parsed.utcoffset() is None:
            return f"{key}={value!r} has no offset"
    return None


class Recorder:
    """Sends requests and collects every answer that breaks a convention."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.problems: list[str] = []
        self.sent = 0

    def send(self, method: str, path: str, body=NO_BODY, raw: str | None = None, query: str = ""):
        url = f"{path}?{query}" if query else path
        self.sent += 1
        if raw is not None:
            response = self.client.generic(method.upper(), url, raw, "application/json")
        elif body is not NO_BODY:
            response = self.client.generic(
                method.upper(), url, json.dumps(body), "application/json"
            )
        else:
            response = getattr(self.client, method)(url)
        problem = shape_problem(response)
        if problem:
            sent = raw if raw is not None else body
            self.problems.append(f"{problem}: {describe(method, url, response, sent)}")
        return response

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems[:40])


@pytest.fixture
def staff_recorder(staff_user) -> Recorder:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(staff_user))
    return Recorder(client)


def _schema_fields(path: str, method: str, schema: dict) -> tuple[list[str], list[str]]:
    """(request body properties, query parameter names) the OpenAPI schema documents."""
    template = "/" + re.sub(r"\(\?P<\w+>.*?\)(?=/|$)", "{}", path.strip("/"))
    documented = {re.sub(r"\{\w+\}", "{}", key): value for key, value in schema["paths"].items()}
    assert template in documented, f"{template} is not in the OpenAPI schema"
    operation = documented[template].get(method, {})
    query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    properties: list[str] = []
    for media in operation.get("requestBody", {}).get("content", {}).values():
        ref = media["schema"].get("$ref", "")
        component = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        properties.extend(component.get("properties", {}))
    return list(dict.fromkeys(properties)), query


IDENTIFYING_KEYS = ("id", "hash", "object_key", "name")


@pytest.fixture
def existing(staff_recorder) -> dict[str, str]:
    """One object of each kind, made through the API: ``{collection path: its id}``."""
    client = staff_recorder.client
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.conventions_target (id integer)")
    assert client.post("/api/v1/commits", {"message": "target"}).status_code == 201
    assert client.post("/api/v1/alerts/test").status_code == 201
    silence = {
        "matchers": [{"name": "source", "value": "test"}],
        "ends_at": "2099-01-01T00:00:00Z",
    }
    assert client.post("/api/v1/alert-silences", silence).status_code == 201
    webhook = {"name": "target", "url": "https://hooks.example.com/in", "event_types": ["*"]}
    created = client.post("/api/v1/webhooks", webhook)
    assert created.status_code == 201
    assert client.post(f"/api/v1/webhooks/{created.json()['id']}/test").status_code < 300
    ids = {}
    for route in API_ROUTES:
        [(template, params)] = normalize(route.regex)[:1]
        if params or "get" not in route.methods:
            continue
        listed = client.get("/" + template)
        items = listed.json().get("items") if listed.status_code == 200 else None
        if items:
            key = next(key for key in IDENTIFYING_KEYS if key in items[0])
            ids["/" + template] = str(items[0][key])
    return ids


def test_existing_objects_of_every_kind_are_fuzzed_too(existing):
    assert sorted(existing) == [
        "/api/v1/alert-silences",
        "/api/v1/alerts",
        "/api/v1/audit",
        "/api/v1/branches",
        "/api/v1/commits",
        "/api/v1/events",
        "/api/v1/objects",
        "/api/v1/performance/metrics",
        "/api/v1/webhook-deliveries",
        "/api/v1/webhooks",
    ]


@pytest.fixture(scope="module")
def openapi_schema(django_db_blocker) -> dict:
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_every_api_route_is_walked():
    regexes = [route.regex for route in API_ROUTES]
    assert len(regexes) >= 40
    for expected in ("api/v1/auth/token/?", "api/v1/webhooks/?", "api/v1/alerts/?"):
        assert expected in regexes


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: route.id)
def test_hostile_input_never_gets_a_5xx_and_errors_keep_the_shape(
    route, staff_recorder, openapi_schema, existing, settings
):
    # the token endpoint's throttle would answer most of these with 429 before validating them
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100000/minute"},
    }
    regex_path = route.regex.replace("/?", "")
    for path in route.paths(existing):
        for method in route.methods:
            properties, query_names = _schema_fields(regex_path, method, openapi_schema)
            for query in PAGINATION_QUERIES:
                if method == "get":
                    response = staff_recorder.send(method, path, query=query)
                    if "items" in (response.json() if response.status_code == 200 else {}):
                        staff_recorder.problems.append(f"list accepted {query}: {path}")
            for name in query_names:
                for value in ABSURD_QUERY_VALUES:
                    staff_recorder.send(method, path, query=f"{name}={value}")
            if method in WRITE_METHODS:
                for raw in MALFORMED_JSON:
                    response = staff_recorder.send(method, path, raw=raw)
                    if response.status_code != 404 and (
                        response.status_code,
                        response.json().get("code"),
                    ) != (400, "parse_error"):
                        staff_recorder.problems.append(
                            f"malformed JSON not refused: {describe(method, path, response, raw)}"
                        )
                for body in WRONG_TYPED_BODIES:
                    response = staff_recorder.send(method, path, body=body)
                    if response.status_code < 400:
                        staff_recorder.problems.append(
                            f"non-object body accepted: {describe(method, path, response, body)}"
                        )
                for value in WRONG_FIELD_VALUES:
                    staff_recorder.send(method, path, body=dict.fromkeys(properties, value))
                    for name in properties:
                        staff_recorder.send(method, path, body={name: value})
            else:
                staff_recorder.send(method, path)
    staff_recorder.assert_clean()


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: route.id)
def test_every_route_needs_a_token_except_the_token_endpoints(route, api_client):
    for path in route.paths({})[:1]:
        for method in route.methods:
            for variant in (path, path + "/"):
                response = api_client.generic(method.upper(), variant, "{}", "application/json")
                if is_public(route):
                    assert response.status_code in (400, 401), describe(method, variant, response)
                    continue
                assert response.status_code == 401, describe(method, variant, response)
                assert response["WWW-Authenticate"] == 'Bearer realm="api"'
                assert response.json() == {
                    "detail": "Authentication credentials were not provided.",
                    "code": "not_authenticated",
                    "request_id": response["X-Request-ID"],
                }


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: route.id)
def test_a_method_the_route_lacks_is_405_with_allow(route, staff_recorder):
    allowed = {m.upper() for m in route.methods} | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    path = route.paths({})[0]
    for method in set(ALL_METHODS) - set(route.methods):
        response = staff_recorder.send(method, path, body={})
        assert response.status_code == 405, describe(method, path, response)
        assert set(response["Allow"].split(", ")) == allowed
        assert response.json()["code"] == "method_not_allowed"
    staff_recorder.assert_clean()


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: route.id)
def test_no_route_redirects_and_the_slash_changes_nothing(route, staff_recorder, existing):
    for path in route.paths(existing)[:2]:
        for method in route.methods:
            if method == "delete":
                continue  # the first would delete the object the second is compared on
            bare = staff_recorder.send(
                method, path, body={} if method in WRITE_METHODS else NO_BODY
            )
            slashed = staff_recorder.send(
                method, path + "/", body={} if method in WRITE_METHODS else NO_BODY
            )
            assert bare.status_code not in (301, 302, 307, 308)
            if method == "get":
                assert slashed.status_code == bare.status_code, describe(method, path, slashed)
            else:  # a write may change state; both forms reach the view
                assert slashed.status_code != 404 or bare.status_code == 404
    staff_recorder.assert_clean()


def test_timestamp_check_finds_a_naive_or_malformed_time():
    assert timestamp_problem({"items": [{"created_at": "2024-01-01T00:00:00Z"}]}) is None
    assert timestamp_problem({"items": [{"created_at": "2024-01-01T00:00:00"}]}) == (
        "created_at='2024-01-01T00:00:00' has no offset"
    )
    assert timestamp_problem({"a": {"seen_at": "yesterday"}}) == (
        "seen_at='yesterday' is not ISO 8601"
    )


def test_timestamps_of_existing_objects_are_utc_with_an_offset(staff_recorder, existing):
    alert = staff_recorder.send("get", f"/api/v1/alerts/{existing['/api/v1/alerts']}").json()
    assert alert["first_seen_at"].endswith("Z")
    webhook = staff_recorder.send("get", f"/api/v1/webhooks/{existing['/api/v1/webhooks']}")
    assert webhook.json()["created_at"].endswith("Z")
    staff_recorder.assert_clean()
