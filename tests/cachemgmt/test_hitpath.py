"""The early hit path (``cachemgmt.hitpath``) through the real ASGI application.

Requests go through ``pggit_project.asgi.application`` as the server calls it. A request carrying a
cookie never takes the early path (``_plan``), which gives the ordinary answer to compare with.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.signals import request_started
from django.urls import get_resolver, resolve
from django.utils import timezone
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework_simplejwt.tokens import AccessToken

from cachemgmt import hitpath
from cachemgmt.runtime import get_store
from cachemgmt.services import cache_apply_notice
from pggit_project.asgi import application
from pggit_project.listener import connect
from pggit_project.negotiation import ContentNegotiation
from tests.conftest import bearer, with_role
from webhooks import services
from webhooks.api.views import WebhookViewSet

WEBHOOKS = "/api/v1/webhooks"
ORDINARY = [(b"cookie", b"flavour=ordinary")]  # a cookie: the early path steps aside


@pytest.fixture
def hits(redis_cache, user):
    """Committed webhook endpoints, a clean early path, and the reader's bearer header."""
    for number in range(3):
        services.webhook_create(
            name=f"hitpath-{number}",
            url=f"https://hooks.example.com/{number}",
            event_types=["*"],
            actor="test",
        )
    hitpath.user_states.clear()
    hitpath._templates.clear()
    yield bearer(user).encode()
    hitpath.user_states.clear()
    hitpath._templates.clear()


def get(
    path: str, authorization: bytes | None, extra: list | None = None, host: bytes = b"localhost"
):
    """(status, headers as a list of (name, value) str pairs, body) of one ASGI GET."""
    headers = [(b"host", host)]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    headers += extra or []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def run():
        messages = []
        delivered = False

        async def receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # no disconnect; cancelled once the answer is sent

        async def send(message):
            messages.append(message)

        await application(scope, receive, send)
        return messages

    messages = async_to_sync(run)()
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    pairs = [(bytes(n).decode(), bytes(v).decode()) for n, v in start["headers"]]
    return start["status"], pairs, body


def header(pairs, name: str) -> str | None:
    return next((v for n, v in pairs if n.lower() == name.lower()), None)


def without_request_id(pairs):
    return [(n, "<id>" if n.lower() == "x-request-id" else v) for n, v in pairs]


class Started:
    """How many requests entered Django's request cycle (``request_started``) within the block."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **kwargs) -> None:
        self.count += 1

    def __enter__(self):
        request_started.connect(self)
        return self

    def __exit__(self, *exc) -> None:
        request_started.disconnect(self)


def cached_views():
    """(route, view function) of every API view whose GET handler is cached."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            view = pattern.callback
            actions = getattr(view, "actions", None) or {"get": "get"}
            handler = getattr(getattr(view, "cls", None), actions.get("get") or "", None)
            if getattr(handler, "pggit_cached", False):
                found.append((prefix + str(pattern.pattern), view))

    walk(get_resolver().url_patterns, "")
    return found


def warm(authorization: bytes) -> None:
    """A miss through the ordinary path (it stores the entry and teaches the early path), then
    one early hit (it reads the user's state)."""
    assert header(get(WEBHOOKS, authorization)[1], "X-Cache") == "miss"
    assert header(get(WEBHOOKS, authorization)[1], "X-Cache") == "hit-l1"


def test_an_early_hit_is_byte_identical_to_an_ordinary_hit_and_makes_no_query(
    hits, django_assert_num_queries
):
    miss = get(WEBHOOKS, hits)
    ordinary = get(WEBHOOKS, hits, ORDINARY)
    # the token's user and its permissions were read by the ordinary path (pggit_project.
    # authentication), once per user-state generation: the early path shares that state
    with django_assert_num_queries(0), Started() as started:
        early = get(WEBHOOKS, hits)
    assert started.count == 0  # answered before Django: not an ordinary hit
    with Started() as started:
        assert header(get(WEBHOOKS, hits, ORDINARY)[1], "X-Cache") == "hit-l1"
    assert started.count == 1

    assert header(miss[1], "X-Cache") == "miss"
    assert header(ordinary[1], "X-Cache") == header(early[1], "X-Cache") == "hit-l1"
    assert early[0] == ordinary[0] == 200
    assert early[2] == ordinary[2] == miss[2]
    assert without_request_id(early[1]) == without_request_id(ordinary[1])
    assert header(early[1], "X-Request-ID") != header(ordinary[1], "X-Request-ID")
    assert header(early[1], "Content-Length") == str(len(miss[2]))


def test_the_early_hit_echoes_a_well_formed_client_request_id(hits):
    warm(hits)
    status, pairs, _ = get(WEBHOOKS, hits, [(b"x-request-id", b"client-chosen-id-42")])
    assert (status, header(pairs, "X-Cache")) == (200, "hit-l1")
    assert header(pairs, "X-Request-ID") == "client-chosen-id-42"


def test_early_hits_are_counted_exactly(hits, user_client):
    warm(hits)
    get(WEBHOOKS, hits)
    body = user_client.get("/api/v1/cache/stats").json()
    assert (body["hits"], body["misses"]) == (2, 1)
    assert (body["layers"]["l1"]["hits"], body["layers"]["l2"]["hits"]) == (2, 0)
    assert body["namespaces"]["webhooks"]["hits"] == 2


def assert_refused_like_the_ordinary_path(authorization: bytes | None) -> None:
    early = get(WEBHOOKS, authorization)
    ordinary = get(WEBHOOKS, authorization, ORDINARY)
    assert early[0] == ordinary[0] == 401
    assert header(early[1], "WWW-Authenticate").startswith("Bearer")
    early_id, ordinary_id = header(early[1], "X-Request-ID"), header(ordinary[1], "X-Request-ID")
    assert early[2].replace(early_id.encode(), b"<id>") == ordinary[2].replace(
        ordinary_id.encode(), b"<id>"
    )
    assert without_request_id(early[1]) == without_request_id(ordinary[1])
    assert header(early[1], "X-Cache") is None


def test_an_expired_token_is_refused_although_the_entry_is_cached(hits, user):
    warm(hits)
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=-5))
    assert_refused_like_the_ordinary_path(f"Bearer {token}".encode())


def test_a_forged_token_is_refused(hits, user):
    warm(hits)
    header_part, payload, signature = str(AccessToken.for_user(user)).split(".")
    forged = "A" if signature[0] != "A" else "B"
    assert_refused_like_the_ordinary_path(
        f"Bearer {header_part}.{payload}.{forged}{signature[1:]}".encode()
    )
    assert_refused_like_the_ordinary_path(None)
    assert_refused_like_the_ordinary_path(b"Bearer not-a-token")


def test_a_user_made_inactive_in_this_process_is_refused_at_once(hits, user):
    warm(hits)
    user.is_active = False
    user.save()
    assert_refused_like_the_ordinary_path(hits)


def test_a_user_deleted_in_this_process_is_refused_at_once(hits, user):
    warm(hits)
    user.delete()
    assert_refused_like_the_ordinary_path(hits)


def test_a_user_changed_in_another_process_is_refused_at_once(hits, user):
    warm(hits)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal here
    get_store().bump_users()  # what the other process's post_save does once it has committed
    assert_refused_like_the_ordinary_path(hits)


def test_a_user_deactivated_by_sql_is_announced_and_then_refused(hits, user):
    warm(hits)
    with connect() as conn:
        conn.execute("LISTEN pggit_cache")
        users = get_user_model().objects.filter(pk=user.pk)
        users.update(last_login=timezone.now())  # not part of the user's state: no notice
        users.update(is_active=False)  # QuerySet.update: no signal, only the trigger
        notes = [(n.channel, n.payload) for n in conn.notifies(timeout=10, stop_after=1)]
    assert notes == [("pggit_cache", '{"ns": [], "users": true}')]
    cache_apply_notice(notes[0][1])  # what the listener does with it
    assert_refused_like_the_ordinary_path(hits)


def test_after_a_user_change_other_users_are_read_again_once_and_still_hit(
    hits, user, django_assert_num_queries
):
    warm(hits)
    before = hitpath.user_states.get(user.pk)
    get_store().bump_users()
    # this one learns the change and takes the ordinary path, which reads the user's state again
    # (pggit_project.authentication), under the new generation
    assert header(get(WEBHOOKS, hits)[1], "X-Cache") == "hit-l1"
    after = hitpath.user_states.get(user.pk)
    assert after.generation == get_store().user_generation() == before.generation + 1
    with django_assert_num_queries(0):  # the early path uses that state
        assert header(get(WEBHOOKS, hits)[1], "X-Cache") == "hit-l1"


def test_a_bump_sends_the_next_read_to_the_ordinary_path(hits):
    warm(hits)
    before = json.loads(get(WEBHOOKS, hits)[2])["total"]
    services.webhook_create(
        name="hitpath-new", url="https://hooks.example.com/new", event_types=["*"], actor="test"
    )
    from cachemgmt.services import cache_invalidate

    cache_invalidate(namespaces=["webhooks"])
    status, pairs, body = get(WEBHOOKS, hits)
    assert (status, header(pairs, "X-Cache")) == (200, "miss")
    assert json.loads(body)["total"] == before + 1


def test_a_stale_generation_is_not_served_and_not_counted(hits):
    warm(hits)
    store = get_store()
    before = store.counters()
    names = ("webhooks",)
    known = store._known_gens[names]
    digest = next(iter(store.l1._entries)).rsplit(":", 1)[1]
    assert store.l1_hit("webhooks", names, digest) is not None
    store.bump(["webhooks"])
    assert store.l1_hit("webhooks", names, digest) is None
    assert store._known_gens[names] == (known[0] + 1,)
    after = store.counters()
    assert after["hits"] == before["hits"] + 1


def test_a_host_outside_allowed_hosts_is_400_although_the_entry_is_cached(hits):
    warm(hits)
    status, pairs, body = get(WEBHOOKS, hits, host=b"evil.example")
    assert status == 400
    assert json.loads(body)["code"] == "bad_request"
    assert header(pairs, "X-Cache") is None
    assert get(WEBHOOKS, hits, host=b"localhost:8000")[0] == 200  # an allowed host, any port


def test_a_token_issued_before_a_password_change_is_refused_although_the_entry_is_cached(
    hits, user
):
    warm(hits)
    user.set_password("another-long-passphrase-42")
    user.save()
    assert_refused_like_the_ordinary_path(hits)
    assert json.loads(get(WEBHOOKS, hits)[2])["code"] == "password_changed"


def test_a_password_changed_by_sql_is_announced_and_then_refused(hits, user):
    warm(hits)
    with connect() as conn:
        conn.execute("LISTEN pggit_cache")
        get_user_model().objects.filter(pk=user.pk).update(password="!changed-elsewhere")
        notes = [(n.channel, n.payload) for n in conn.notifies(timeout=10, stop_after=1)]
    assert notes == [("pggit_cache", '{"ns": [], "users": true}')]
    cache_apply_notice(notes[0][1])
    assert_refused_like_the_ordinary_path(hits)


def test_a_user_who_lost_the_read_permission_is_refused_although_the_entry_is_cached(hits, user):
    warm(hits)
    user.groups.clear()  # m2m_changed: every process reads permissions again
    status, pairs, body = get(WEBHOOKS, hits)
    assert (status, json.loads(body)["code"]) == (403, "permission_denied")
    assert header(pairs, "X-Cache") is None


def test_a_role_removed_by_sql_is_announced_and_then_refused(hits, user):
    warm(hits)
    with connect() as conn:
        conn.execute("LISTEN pggit_cache")
        membership = get_user_model().groups.through
        membership.objects.filter(user_id=user.pk).delete()  # no m2m_changed: only the trigger
        notes = [(n.channel, n.payload) for n in conn.notifies(timeout=10, stop_after=1)]
    assert notes == [("pggit_cache", '{"ns": [], "users": true}')]
    cache_apply_notice(notes[0][1])
    assert get(WEBHOOKS, hits)[0] == 403


def test_viewers_and_operators_never_share_an_entry(hits):
    operator = with_role(get_user_model().objects.create_user("hit-ops", password="x"), "operator")
    operator_bearer = bearer(operator).encode()
    warm(hits)  # the viewer's answer: URLs without their path
    warm(operator_bearer)  # a miss of its own, then an early hit
    for authorization, expected in (
        (hits, "https://hooks.example.com/***"),
        (operator_bearer, "https://hooks.example.com/0"),
    ):
        status, pairs, body = get(WEBHOOKS, authorization)
        assert (status, header(pairs, "X-Cache")) == (200, "hit-l1")
        urls = sorted(item["url"] for item in json.loads(body)["items"])
        assert urls[0] == expected


def test_every_cached_view_of_the_api_is_taken_by_the_early_path():
    """Every cached endpoint meets the early path's conditions with the project's settings (the
    API's default content negotiation is the project's: pggit_project.negotiation)."""
    views = cached_views()
    assert WebhookViewSet.content_negotiation_class is ContentNegotiation
    assert len(views) >= 13
    assert [route for route, view in views if hitpath._eligibility(view) is None] == []


def test_a_view_with_another_content_negotiation_takes_the_ordinary_path():
    class Negotiation(ContentNegotiation):
        pass

    ours = resolve(WEBHOOKS).func
    for negotiation, eligible in (
        (ContentNegotiation, True),
        (DefaultContentNegotiation, True),
        (Negotiation, False),
    ):
        view = WebhookViewSet.as_view(ours.actions, content_negotiation_class=negotiation)
        assert (hitpath._eligibility(view) is not None) is eligible, negotiation
