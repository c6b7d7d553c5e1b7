"""Roles and permissions: every endpoint needs the permission of what it reads or changes, and
answers hide secrets from users without ``pggit_project.view_sensitive`` (docs/security.md)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from rest_framework.test import APIClient, APIRequestFactory

from pggit_project.roles import OPERATOR_CHANGES, sync_roles
from tests.conftest import PASSWORD, bearer, with_role
from vcs.api.serializers import AuditEntrySerializer
from vcs.models import AuditEntry
from webhooks import services
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls")]

# Every read endpoint of the API (one URL each; the list is checked against the URL patterns).
READS = [
    "/api/v1/status",
    "/api/v1/branches",
    "/api/v1/commits",
    "/api/v1/objects",
    "/api/v1/audit",
    "/api/v1/events",
    "/api/v1/diff?from=HEAD&to=WORKING",
    "/api/v1/schema",
    "/api/v1/verify",
    "/api/v1/merges",
    "/api/v1/rollbacks",
    "/api/v1/alerts",
    "/api/v1/alert-silences",
    "/api/v1/performance/metrics",
    "/api/v1/performance/baselines",
    "/api/v1/performance/operations",
    "/api/v1/dashboard",
    "/api/v1/webhooks",
    "/api/v1/webhook-deliveries",
    "/api/v1/cache/stats",
]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    return client


@pytest.fixture
def nobody(db):
    """A user with no role and no permission."""
    return get_user_model().objects.create_user("nobody", password=PASSWORD)


def test_a_user_without_a_role_reads_nothing(nobody):
    client = client_for(nobody)
    answers = {path: client.get(path) for path in READS}
    assert {path: response.status_code for path, response in answers.items()} == dict.fromkeys(
        READS, 403
    )
    assert {response.json()["code"] for response in answers.values()} == {"permission_denied"}


def test_a_viewer_reads_every_endpoint(user_client):
    assert {path: user_client.get(path).status_code for path in READS} == dict.fromkeys(READS, 200)


def test_each_read_needs_its_own_permission(nobody):
    nobody.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client = client_for(get_user_model().objects.get(pk=nobody.pk))
    assert client.get("/api/v1/webhooks").status_code == 200
    assert client.get("/api/v1/webhook-deliveries").status_code == 403
    assert client.get("/api/v1/audit").status_code == 403


def test_a_viewer_changes_nothing(user_client):
    assert user_client.post("/api/v1/branches", {"name": "x"}, format="json").status_code == 403
    assert user_client.post("/api/v1/commits", {"message": "m"}, format="json").status_code == 403
    assert user_client.post("/api/v1/cache/invalidate", {}, format="json").status_code == 403
    create = user_client.post(
        "/api/v1/webhooks", {"name": "x", "url": "https://hooks.example.com/x"}, format="json"
    )
    assert create.status_code == 403


def test_an_operator_makes_daily_changes_but_manages_no_users(operator_user, operator_client):
    assert operator_client.post("/api/v1/cache/invalidate", {}, format="json").status_code == 200
    created = operator_client.post(
        "/api/v1/webhooks", {"name": "x", "url": "https://hooks.example.com/x"}, format="json"
    )
    assert created.status_code == 201
    assert operator_user.has_perms(OPERATOR_CHANGES)
    assert not operator_user.has_perm("auth.change_user")
    assert not operator_user.has_perm("auth.change_group")


def test_the_roles_hold_exactly_their_permissions():
    viewer, operator, admin = (
        Group.objects.get(name=name) for name in ("viewer", "operator", "admin")
    )
    viewing = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in viewer.permissions.select_related("content_type")
    }
    assert viewing >= {
        "vcs.view_branch",
        "vcs.view_auditentry",
        "vcs.view_event",
        "webhooks.view_webhookendpoint",
        "webhooks.view_webhookdelivery",
        "alerts.view_alert",
        "cachemgmt.view_cachecontrol",
    }
    assert all(name.split(".")[1].startswith("view_") for name in viewing)
    assert "pggit_project.view_sensitive" not in viewing
    operating = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in operator.permissions.select_related("content_type")
    }
    assert operating == viewing | set(OPERATOR_CHANGES)
    assert admin.permissions.count() == Permission.objects.count()
    assert sync_roles() == {
        "viewer": len(viewing),
        "operator": len(operating),
        "admin": Permission.objects.count(),
    }


def test_a_viewer_sees_webhook_urls_without_their_path(user_client, operator_client):
    services.webhook_create(
        name="capability",
        url="https://hooks.example.com:8443/T000/B000/s3cr3t?token=abc",
        event_types=["*"],
        actor="test",
    )
    seen = user_client.get("/api/v1/webhooks").json()["items"][0]["url"]
    assert seen == "https://hooks.example.com:8443/***"
    full = operator_client.get("/api/v1/webhooks").json()["items"][0]["url"]
    assert full == "https://hooks.example.com:8443/T000/B000/s3cr3t?token=abc"


def test_a_viewer_sees_no_delivery_payload_nor_receiver_answer(user_client, operator_client):
    endpoint = services.webhook_create(
        name="d", url="https://hooks.example.com/d", event_types=["commit.created"], actor="test"
    ).endpoint
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event('commit.created', '{}')")
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        cursor.execute("SELECT claim_token FROM pggit.webhook_claim('t', 10, 30)")
        token = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pggit.webhook_record_attempt(%s, %s, 1, now(), 12.5, 500, NULL, '{}',"
            " 'receiver said: secret-body', 'retry', now() + interval '5 s', interval '5 days',"
            " 't')",
            [delivery.pk, token],
        )
    path = f"/api/v1/webhook-deliveries/{delivery.pk}"
    hidden = user_client.get(path).json()
    assert hidden["payload"] is None
    assert [a["response_excerpt"] for a in hidden["attempts"]] == [""]
    shown = operator_client.get(path).json()
    assert shown["payload"]["type"] == "commit.created"
    assert [a["response_excerpt"] for a in shown["attempts"]] == ["receiver said: secret-body"]


def test_a_viewer_sees_no_client_address_in_the_audit(user, operator_user):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.audited (a integer)")
        # capture writes its audit rows at commit or at the first engine read (this test's
        # transaction never commits)
        cursor.execute("SELECT pggit.capture_flush()")
    entry = AuditEntry.objects.order_by("-captured_at", "-id").first()
    entry.client_addr = "203.0.113.9"  # over a Unix socket (the embedded server) it is null

    def seen_by(someone):
        request = APIRequestFactory().get("/api/v1/audit")
        request.user = someone
        return AuditEntrySerializer(entry, context={"request": request}).data["client_addr"]

    assert seen_by(operator_user) == "203.0.113.9"
    assert seen_by(user) is None
    items = client_for(user).get("/api/v1/audit").json()["items"]
    assert items and {item["client_addr"] for item in items} == {None}


def test_reading_test_views_needs_the_declared_permission(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=bearer(user))
    assert api_client.get("/t/guarded").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_group"))
    api_client.credentials(HTTP_AUTHORIZATION=bearer(get_user_model().objects.get(pk=user.pk)))
    assert api_client.get("/t/guarded").json() == {"read": True}


def test_change_without_the_declared_permission_is_403(user_client):
    assert user_client.post("/t/guarded", {}).status_code == 403


def test_change_with_the_declared_permission_is_allowed(api_client, user):
    user.user_permissions.add(Permission.objects.get(codename="add_group"))
    api_client.credentials(HTTP_AUTHORIZATION=bearer(user))
    response = api_client.post("/t/guarded", {})
    assert response.status_code == 200
    assert response.json() == {"changed": True}


def test_staff_without_a_role_may_not_change(api_client):
    staff = get_user_model().objects.create_user("plainstaff", password=PASSWORD, is_staff=True)
    api_client.credentials(HTTP_AUTHORIZATION=bearer(staff))
    assert api_client.post("/t/guarded", {}).status_code == 403
    assert api_client.get("/api/v1/webhooks").status_code == 403


def test_admin_role_and_superuser_may_change(staff_client, api_client):
    assert staff_client.post("/t/guarded", {}).status_code == 200
    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    api_client.credentials(HTTP_AUTHORIZATION=bearer(root))
    assert api_client.post("/t/guarded", {}).status_code == 200


def test_change_needs_the_model_permission_of_the_queryset(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=bearer(user))
    assert api_client.delete("/t/guarded-by-model").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="delete_group"))
    assert api_client.delete("/t/guarded-by-model").status_code == 204


def test_anonymous_change_is_401(api_client):
    assert api_client.post("/t/guarded", {}).status_code == 401


def test_admin_pages_need_the_model_permission(client, db):
    viewer = with_role(
        get_user_model().objects.create_user("deskviewer", password=PASSWORD, is_staff=True),
        "viewer",
    )
    client.force_login(viewer)
    assert client.get("/admin/webhooks/webhookendpoint/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/admin/axes/accessattempt/").status_code == 403


def test_admin_pages_hide_secrets_from_viewers(client, db):
    endpoint = services.webhook_create(
        name="adm", url="https://hooks.example.com/T0/s3cr3t", event_types=["*"], actor="test"
    ).endpoint
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event('commit.created', '{\"marker\": \"p4yl0ad\"}')")
        cursor.execute("CREATE TABLE public.admin_audited (a integer)")
        cursor.execute("SELECT pggit.capture_flush()")  # written at commit or first read
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event_type="commit.created")
    audit_id = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    pages = [
        "/admin/webhooks/webhookendpoint/",
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/",
        f"/admin/vcs/auditentry/{audit_id}/change/",
    ]
    viewer = with_role(
        get_user_model().objects.create_user("deskviewer", password=PASSWORD, is_staff=True),
        "viewer",
    )
    operator = with_role(
        get_user_model().objects.create_user("deskops", password=PASSWORD, is_staff=True),
        "operator",
    )
    client.force_login(viewer)
    seen = [client.get(page) for page in pages]
    assert [response.status_code for response in seen] == [200] * 4
    text = "".join(response.content.decode() for response in seen)
    assert "s3cr3t" not in text
    assert "https://hooks.example.com/***" in text
    assert "p4yl0ad" not in text
    assert "Client addr" not in text
    found = client.get("/admin/webhooks/webhookendpoint/?q=s3cr3t").content.decode()
    assert "adm</a>" not in found  # the URL is not searchable either

    client.force_login(operator)
    text = "".join(client.get(page).content.decode() for page in pages)
    assert "s3cr3t" in text
    assert "p4yl0ad" in text
    assert "Client addr" in text
