"""The webhooks REST API (docs/api.md, Webhooks)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

URL = "https://hooks.example.com/pggit"


def make(name: str = "ci", url: str = URL, event_types: list[str] | None = None, **extra):
    return services.webhook_create(
        name=name, url=url, event_types=event_types or ["*"], **extra
    ).endpoint


def emit(event_type: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event(%s, '{}')", [event_type])
        return cursor.fetchone()[0]


def test_create_returns_the_secret_once_with_its_hint(staff_client):
    response = staff_client.post(
        "/api/v1/webhooks",
        {"name": "ci", "url": URL, "event_types": ["commit.created"], "description": "CI"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret_hint"] == f"whsec_...{body['secret'][-4:]}"
    assert body["event_types"] == ["commit.created"]
    assert (body["name"], body["url"], body["description"], body["is_active"]) == (
        "ci",
        URL,
        "CI",
        True,
    )
    assert body["health"] == {
        "status": "healthy",
        "total_deliveries": 0,
        "successful_deliveries": 0,
        "failed_deliveries": 0,
        "consecutive_failures": 0,
        "last_delivery_at": None,
        "last_success_at": None,
        "last_failure_at": None,
        "disabled_reason": None,
    }
    detail = staff_client.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in detail
    assert detail["secret_hint"] == body["secret_hint"]


def test_the_secret_is_stored_encrypted(staff_client):
    body = staff_client.post("/api/v1/webhooks", {"name": "ci", "url": URL}, format="json").json()

    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["secret"].encode() not in bytes(endpoint.secret_encrypted)
    assert body["event_types"] == ["*"]


def test_list_is_paginated_ordered_and_filtered(
    user_client, django_assert_num_queries, user_queries
):
    first = make("alpha", event_types=["commit.created"])
    make("beta", event_types=["alert.fired"])
    third = make("gamma", url="https://other.example.com/x")
    services.webhook_disable(endpoint_id=third.pk)

    # the user (user_queries: its state in one query, or SimpleJWT's three without Redis), the page
    # (not full: no count query)
    with django_assert_num_queries(user_queries.first + 1):
        everything = user_client.get("/api/v1/webhooks").json()
    commit_hooks = user_client.get("/api/v1/webhooks?event_type=commit.created").json()
    inactive = user_client.get("/api/v1/webhooks?is_active=false").json()
    searched = user_client.get("/api/v1/webhooks?search=OTHER.example").json()

    assert [item["name"] for item in everything["items"]] == ["alpha", "beta", "gamma"]
    assert (everything["total"], everything["page"], everything["pages"]) == (3, 1, 1)
    assert [item["id"] for item in commit_hooks["items"]] == [first.pk, third.pk]
    assert [item["name"] for item in inactive["items"]] == ["gamma"]
    assert [item["name"] for item in searched["items"]] == ["gamma"]
    assert all("secret" not in item for item in everything["items"])


def test_list_rejects_an_unknown_event_type_filter(user_client):
    response = user_client.get("/api/v1/webhooks?event_type=nope.nope")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["event_type"]


def test_put_accepts_a_partial_body(staff_client):
    endpoint = make("ci", event_types=["commit.created"])

    response = staff_client.put(
        f"/api/v1/webhooks/{endpoint.pk}", {"description": "changed"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["url"], body["description"]) == ("ci", URL, "changed")
    assert body["event_types"] == ["commit.created"]


def test_disabling_and_enabling_through_patch(staff_client, staff_user):
    endpoint = make()

    disabled = staff_client.patch(
        f"/api/v1/webhooks/{endpoint.pk}", {"is_active": False}, format="json"
    ).json()
    enabled = staff_client.patch(
        f"/api/v1/webhooks/{endpoint.pk}", {"is_active": True}, format="json"
    ).json()

    assert disabled["health"]["status"] == "disabled"
    assert disabled["health"]["disabled_reason"] == f"disabled by {staff_user.username}"
    assert (enabled["is_active"], enabled["health"]["status"]) == (True, "healthy")
    assert enabled["health"]["disabled_reason"] is None


def test_unknown_event_types_are_refused(staff_client):
    response = staff_client.post(
        "/api/v1/webhooks", {"name": "x", "url": URL, "event_types": ["commit.made"]}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["event_types"]


def test_malformed_json_is_a_400(staff_client):
    response = staff_client.generic(
        "POST", "/api/v1/webhooks", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_delete_then_404(staff_client):
    endpoint = make()

    deleted = staff_client.delete(f"/api/v1/webhooks/{endpoint.pk}")
    again = staff_client.get(f"/api/v1/webhooks/{endpoint.pk}/")

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert again.json()["code"] == "webhook_not_found"


def test_non_numeric_id_is_a_404(user_client):
    response = user_client.get("/api/v1/webhooks/abc")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_changes_need_the_permission_and_reads_a_login(user_client, api_client):
    endpoint = make()

    assert user_client.get(f"/api/v1/webhooks/{endpoint.pk}").status_code == 200
    assert user_client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret").status_code == 403
    assert user_client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 403
    anonymous = api_client.get("/api/v1/webhooks")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")


def test_rotate_secret_returns_a_new_secret(staff_client):
    created = staff_client.post("/api/v1/webhooks", {"name": "ci", "url": URL}, format="json")

    rotated = staff_client.post(f"/api/v1/webhooks/{created.json()['id']}/rotate-secret")

    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created.json()["secret"]
    assert rotated.json()["secret_hint"] == f"whsec_...{rotated.json()['secret'][-4:]}"
    endpoint = WebhookEndpoint.objects.get(pk=created.json()["id"])
    assert endpoint.previous_secret_encrypted is not None


def test_test_queues_a_webhook_test_delivery_for_this_endpoint_only(staff_client):
    endpoint = make("one")
    other = make("other")

    response = staff_client.post(f"/api/v1/webhooks/{endpoint.pk}/test")

    assert response.status_code == 202
    body = response.json()
    assert (body["webhook"], body["event_type"], body["status"]) == (
        endpoint.pk,
        "webhook.test",
        "pending",
    )
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()


def test_test_on_a_disabled_endpoint_is_a_conflict(staff_client):
    endpoint = make()
    services.webhook_disable(endpoint_id=endpoint.pk)

    response = staff_client.post(f"/api/v1/webhooks/{endpoint.pk}/test")

    assert response.status_code == 409
    assert response.json()["code"] == "webhook_disabled"


def test_deliveries_are_listed_newest_first(user_client, django_assert_num_queries, user_queries):
    endpoint = make(event_types=["commit.created"])
    first, second = emit("commit.created"), emit("commit.created")
    emit("alert.fired")  # not subscribed

    # the user (user_queries: its state in one query, or SimpleJWT's three without Redis),
    # the endpoint, the page (not full: no count query)
    with django_assert_num_queries(user_queries.first + 2):
        response = user_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries")

    items = response.json()["items"]
    assert [item["event_id"] for item in items] == [second, first]
    assert set(items[0]) == {
        "id",
        "webhook",
        "event_id",
        "event_type",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_status_code",
        "created_at",
        "delivered_at",
    }


def test_delivery_detail_has_attempts_and_payload(operator_client):
    endpoint = make(event_types=["commit.created"])
    event_id = emit("commit.created")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    with connection.cursor() as cursor:
        cursor.execute("SELECT claim_token FROM pggit.webhook_claim('t', 10, 30)")
        token = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pggit.webhook_record_attempt(%s, %s, 1, now(), 12.5, 500, NULL, '{}',"
            " 'boom', 'retry', now() + interval '5 s', interval '5 days', 't')",
            [delivery.pk, token],
        )

    response = operator_client.get(f"/api/v1/webhook-deliveries/{delivery.pk}")

    body = response.json()
    assert body["payload"]["id"] == event_id
    assert body["attempt_count"] == 1
    assert body["last_status_code"] == 500
    assert [
        (a["number"], a["status_code"], a["duration_ms"], a["response_excerpt"])
        for a in body["attempts"]
    ] == [(1, 500, 12.5, "boom")]


def test_redeliver_requeues_and_refuses_while_sending(staff_client):
    endpoint = make(event_types=["commit.created"])
    emit("commit.created")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.webhook_claim('t', 10, 30)")

    busy = staff_client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET status = 'failed' WHERE id = %s", [delivery.pk]
        )
    requeued = staff_client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")

    assert busy.status_code == 409
    assert busy.json()["code"] == "delivery_in_progress"
    assert requeued.status_code == 202
    assert requeued.json()["status"] == "pending"


def test_redeliver_of_an_unknown_delivery_is_a_404(staff_client):
    response = staff_client.post("/api/v1/webhook-deliveries/999999/redeliver")

    assert response.status_code == 404
    assert response.json()["code"] == "delivery_not_found"


def test_replay_requeues_failed_deliveries_since_a_time(staff_client):
    endpoint = make(event_types=["commit.created"])
    for _ in range(3):
        emit("commit.created")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET status = 'failed' WHERE endpoint_id = %s",
            [endpoint.pk],
        )
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET created_at = now() - interval '2 days'"
            " WHERE id = (SELECT min(id) FROM pggit.webhook_deliveries WHERE endpoint_id = %s)",
            [endpoint.pk],
        )

    since = (timezone.now() - timedelta(days=1)).isoformat()

    response = staff_client.post(
        f"/api/v1/webhooks/{endpoint.pk}/replay", {"since": since}, format="json"
    )
    statuses = Counter(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status"))

    assert response.status_code == 202
    assert response.json() == {"requeued": 2}
    assert statuses == Counter({("pending",): 2, ("failed",): 1})


def test_replay_needs_a_valid_time(staff_client):
    endpoint = make()

    response = staff_client.post(
        f"/api/v1/webhooks/{endpoint.pk}/replay", {"since": "yesterday"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["since"]


def test_the_delivery_list_of_all_endpoints_filters_by_status(user_client):
    endpoint = make(event_types=["commit.created"])
    emit("commit.created")

    pending = user_client.get("/api/v1/webhook-deliveries?status=pending").json()
    delivered = user_client.get("/api/v1/webhook-deliveries?status=delivered").json()

    assert [item["webhook"] for item in pending["items"]] == [endpoint.pk]
    assert delivered["total"] == 0


def test_is_active_filter_refuses_a_value_it_does_not_know(user_client):
    make("on")
    services.webhook_disable(endpoint_id=make("off").pk)

    refused = user_client.get("/api/v1/webhooks?is_active=no")
    off = user_client.get("/api/v1/webhooks?is_active=0").json()
    on = user_client.get("/api/v1/webhooks?is_active=true").json()

    assert refused.status_code == 400
    assert (refused.json()["code"], list(refused.json()["errors"])) == ("invalid", ["is_active"])
    assert [item["name"] for item in off["items"]] == ["off"]
    assert [item["name"] for item in on["items"]] == ["on"]


def test_a_secret_in_a_create_or_change_body_is_refused_not_ignored(staff_client):
    endpoint = make()
    expected = {"secret": ["The secret cannot be set here; use POST .../rotate-secret."]}

    changed = staff_client.patch(
        f"/api/v1/webhooks/{endpoint.pk}", {"secret": "whsec_x", "name": "new"}, format="json"
    )
    created = staff_client.post(
        "/api/v1/webhooks", {"name": "x", "url": URL, "secret": "whsec_x"}, format="json"
    )

    assert (changed.status_code, changed.json()["errors"]) == (400, expected)
    assert (created.status_code, created.json()["errors"]) == (400, expected)
    after = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (after.name, after.secret_hint) == ("ci", endpoint.secret_hint)
    assert WebhookEndpoint.objects.count() == 1


def test_every_field_error_of_a_create_is_reported_at_once(staff_client):
    """A blank name and a bad URL reported only the name (the URL was checked afterwards)."""
    response = staff_client.post(
        "/api/v1/webhooks",
        {"name": "", "url": "ftp://hooks.example.com/x", "event_types": [], "secret": "whsec_x"},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert sorted(errors) == ["event_types", "name", "secret", "url"]
    assert errors["name"] == ["This field may not be blank."]
    assert errors["secret"] == ["The secret cannot be set here; use POST .../rotate-secret."]
    assert len(errors["url"]) == 1 and "http" in errors["url"][0]
    assert WebhookEndpoint.objects.count() == 0


def test_every_field_error_of_a_change_is_reported_at_once(staff_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    endpoint = make()
    response = staff_client.patch(
        f"/api/v1/webhooks/{endpoint.pk}",
        {"name": "", "url": "http://127.0.0.1/hook"},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert sorted(errors) == ["name", "url"]
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS is off" in errors["url"][0]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("put", "", {"name": "x"}),
        ("patch", "", {"name": "x"}),
        ("delete", "", None),
        ("post", "/rotate-secret", None),
        ("post", "/test", None),
        ("get", "/deliveries", None),
        ("post", "/replay", {"since": "2025-01-01T00:00:00Z"}),
        ("post", "/replay", {}),
    ],
)
def test_every_action_on_an_unknown_webhook_is_the_same_404(staff_client, method, path, body):
    response = getattr(staff_client, method)(f"/api/v1/webhooks/999999{path}", body, format="json")

    assert response.status_code == 404
    body = response.json()
    assert (body["detail"], body["code"]) == ("No webhook 999999.", "webhook_not_found")
    assert set(body) == {"detail", "code", "request_id"}


def test_redeliver_of_a_delivery_of_a_disabled_endpoint_is_a_conflict(staff_client):
    endpoint = make(event_types=["commit.created"])
    emit("commit.created")
    services.webhook_disable(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    response = staff_client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver")

    assert response.status_code == 409
    assert response.json()["code"] == "webhook_disabled"
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "cancelled"


def test_replay_of_a_disabled_endpoint_is_a_conflict(staff_client):
    endpoint = make()
    services.webhook_disable(endpoint_id=endpoint.pk)

    response = staff_client.post(
        f"/api/v1/webhooks/{endpoint.pk}/replay", {"since": "2025-01-01T00:00:00Z"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "webhook_disabled"


@pytest.fixture
def counted_resolver():
    """A resolver answering a public address for every host; the hosts asked for, in order."""
    from webhooks import targets

    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["93.184.215.14"]

    previous = targets.set_resolver(resolve)
    yield asked
    targets.set_resolver(previous)


def test_a_host_name_is_looked_up_once_per_save_through_the_api(staff_client, counted_resolver):
    created = staff_client.post(
        "/api/v1/webhooks",
        {"name": "once", "url": "https://once-a.example.com/hook"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert counted_resolver == ["once-a.example.com"]
    changed = staff_client.patch(
        f"/api/v1/webhooks/{created.json()['id']}",
        {"url": "https://once-b.example.com/hook"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert counted_resolver == ["once-a.example.com", "once-b.example.com"]
    assert WebhookEndpoint.objects.get(pk=created.json()["id"]).url == (
        "https://once-b.example.com/hook"
    )
    # the services check the URL themselves for every other caller
    make(name="direct", url="https://once-c.example.com/hook")
    endpoint = WebhookEndpoint.objects.get(name="direct")
    services.webhook_update(endpoint_id=endpoint.pk, changes={"url": "https://once-d.example.com/"})
    assert counted_resolver[2:] == ["once-c.example.com", "once-d.example.com"]
    with pytest.raises(services.WebhookInvalid):
        services.webhook_create(name="x", url="https://127.0.0.1/x", event_types=["*"])


def test_a_url_counts_as_checked_only_when_it_is_the_url_checked(db, counted_resolver):
    forbidden = "https://127.0.0.1/x"  # a loopback target: refused on save
    with pytest.raises(services.WebhookInvalid) as refused:
        services.webhook_create(name="x", url=forbidden, event_types=["*"], checked_url=URL)
    assert list(refused.value.errors) == ["url"]
    endpoint = make(name="checked", url="https://checked-a.example.com/")
    for checked_url in (URL, None, forbidden + "/"):
        with pytest.raises(services.WebhookInvalid) as refused:
            services.webhook_update(
                endpoint_id=endpoint.pk, changes={"url": forbidden}, checked_url=checked_url
            )
        assert list(refused.value.errors) == ["url"]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == "https://checked-a.example.com/"
    assert not WebhookEndpoint.objects.filter(url=forbidden).exists()
    # the very URL the caller checked: not looked up again
    counted_resolver.clear()
    services.webhook_update(
        endpoint_id=endpoint.pk,
        changes={"url": "https://checked-b.example.com/"},
        checked_url="https://checked-b.example.com/",
    )
    services.webhook_create(
        name="y",
        url="https://checked-c.example.com/",
        event_types=["*"],
        checked_url="https://checked-c.example.com/",
    )
    assert counted_resolver == []
    # another URL than the one checked: looked up
    services.webhook_create(
        name="z", url="https://checked-d.example.com/", event_types=["*"], checked_url=URL
    )
    services.webhook_update(
        endpoint_id=endpoint.pk, changes={"url": "https://checked-e.example.com/"}, checked_url=URL
    )
    assert counted_resolver == ["checked-d.example.com", "checked-e.example.com"]


def test_a_created_endpoint_is_the_instance_the_orm_reads_back(db):
    made = services.webhook_create(
        name="read-back", url=URL, event_types=["commit.created"], description="d"
    ).endpoint
    read = WebhookEndpoint.objects.get(pk=made.pk)
    fields = [field.attname for field in WebhookEndpoint._meta.concrete_fields]
    assert [(type(getattr(made, name)), getattr(made, name)) for name in fields] == [
        (type(getattr(read, name)), getattr(read, name)) for name in fields
    ]
    assert list(vars(made)) == list(vars(read)) and vars(made._state) == vars(read._state)
    assert made.secret_encrypted and made.created_at.tzinfo is not None


@pytest.fixture
def actor_in_description(clean_webhook_tables):
    """A row trigger that writes the ``pggit.actor`` it sees into the new row's description."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pggit.test_actor_seen() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN NEW.description := coalesce(nullif("
            "current_setting('pggit.actor', true), ''), '(none)'); RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_actor_seen BEFORE INSERT ON pggit.webhook_endpoints"
            " FOR EACH ROW EXECUTE FUNCTION pggit.test_actor_seen()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_actor_seen ON pggit.webhook_endpoints")
        cursor.execute("DROP FUNCTION pggit.test_actor_seen()")


def test_a_create_outside_a_transaction_is_one_statement_that_sets_the_actor(
    actor_in_description,
):
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.take_changes()")  # nothing noted before
    with CaptureQueriesContext(connection) as queries:
        made = make(name="as-alice", actor="alice")
    # one statement, its own transaction: no set_config before it, no BEGIN or COMMIT around it
    assert len(queries.captured_queries) == 1
    assert connection.get_autocommit() and not connection.in_atomic_block
    # the row trigger saw the actor; the setting ended with the statement's transaction
    assert made.description == "alice"
    assert WebhookEndpoint.objects.get(pk=made.pk).description == "alice"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting('pggit.actor', true), ''), pggit.take_changes()"
        )
        assert cursor.fetchone() == ("", ",pggit.webhook_endpoints,")
    # without an actor: none set, as engine_cursor without one
    assert make(name="nobody").description == "(none)"


def test_a_create_inside_a_transaction_sets_the_actor_in_a_savepoint(actor_in_description):
    from django.db import IntegrityError, transaction

    with transaction.atomic():
        made = make(name="as-bob", actor="bob")
        assert made.description == "bob"
        with pytest.raises(IntegrityError):  # the name's CHECK: the savepoint is rolled back
            make(name="x" * 201, actor="bob")
        with connection.cursor() as cursor:  # the outer transaction is still usable
            cursor.execute("SELECT count(*) FROM pggit.webhook_endpoints WHERE name = 'as-bob'")
            assert cursor.fetchone() == (1,)
