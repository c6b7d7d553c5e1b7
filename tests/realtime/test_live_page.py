"""The live operations page's server side: access, state, alert actions, the admin link."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from alerts import services
from tests.realtime.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    user = make_user("live-admin", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_the_page_needs_a_staff_login(client):
    response = client.get("/admin/live/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get("/admin/live/state").status_code == 403


def test_the_admin_index_links_the_page(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/live/"' in page


def test_the_page_carries_its_config_and_state(admin_client):
    alert = services.alert_raise(
        fingerprint="live-page", source="test", severity="warning", title="</script><b>x"
    )
    response = admin_client.get("/admin/live/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "</script><b>x" not in page  # data is escaped in the JSON script blocks
    assert "/static/alerts/vendor/uplot/uPlot.iife.min.js" in page
    assert "/static/alerts/live.js" in page
    config = json.loads(page.split('id="live-config" type="application/json">')[1].split("<")[0])
    assert config["socket_path"] == "/ws"
    assert config["topics"][0] == "ddl.captured" and len(config["topics"]) == 14
    assert config["can_operate_alerts"] is True
    state = admin_client.get("/admin/live/state").json()
    assert [row["id"] for row in state["alerts"]] == [alert.id]
    assert state["alerts"][0]["title"] == "</script><b>x"
    assert state["status"]["branch"]
    assert state["events"][-1]["type"] == "alert.fired"
    assert state["last_event_id"] == state["events"][-1]["id"]
    assert state["timings"]["window_hours"] == 6


def test_sections_follow_the_users_permissions(db):
    user = make_user("alert-viewer", "alerts.view_alert", is_staff=True)
    client = Client()
    client.force_login(user)
    state = client.get("/admin/live/state").json()
    assert state["alerts"] == []
    assert state["status"] is None
    assert state["timings"] is None
    assert all(event["type"].startswith("alert.") for event in state["events"])


def test_acknowledge_and_resolve_from_the_page(admin_client):
    alert = services.alert_raise(
        fingerprint="live-act", source="test", severity="error", title="act on me"
    )
    page = admin_client.get("/admin/live/")
    token = page.cookies["csrftoken"].value
    url = f"/admin/live/alerts/{alert.id}"
    assert admin_client.post(f"{url}/acknowledge").status_code == 403  # no CSRF token
    response = admin_client.post(f"{url}/acknowledge", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["alert"]["status"] == "acknowledged"
    assert response.json()["alert"]["acknowledged_by"] == "live-admin"
    again = admin_client.post(f"{url}/acknowledge", HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 409
    assert set(again.json()) >= {"detail", "code", "request_id"}
    response = admin_client.post(f"{url}/resolve", HTTP_X_CSRFTOKEN=token)
    assert response.json()["alert"]["status"] == "resolved"
    missing = admin_client.post("/admin/live/alerts/999999/resolve", HTTP_X_CSRFTOKEN=token)
    assert missing.status_code == 404
    assert missing.json()["code"] == "alert_not_found"  # the engine's code, as in the API
    assert admin_client.post(f"{url}/explode", HTTP_X_CSRFTOKEN=token).status_code == 404


def test_alert_actions_need_the_change_permission(db):
    viewer = make_user("viewer", "alerts.view_alert", is_staff=True)
    alert = services.alert_raise(fingerprint="live-perm", source="test", severity="info", title="t")
    client = Client()
    client.force_login(viewer)
    response = client.post(f"/admin/live/alerts/{alert.id}/acknowledge")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_state_counts_every_working_change_and_carries_the_first_fifty(admin_client):
    from django.db import connection

    from alerts.live import WORKING_CHANGES_SHOWN

    with connection.cursor() as cursor:
        for number in range(WORKING_CHANGES_SHOWN + 3):
            cursor.execute(f"CREATE TABLE public.live_{number:02d} (id integer)")
        cursor.execute("SELECT object_name FROM pggit.status()")
        engine_order = [name for (name,) in cursor.fetchall()]
    status = admin_client.get("/admin/live/state").json()["status"]
    assert (status["clean"], status["working_change_count"]) == (False, WORKING_CHANGES_SHOWN + 3)
    assert [c["object_name"] for c in status["working_changes"]] == engine_order[
        :WORKING_CHANGES_SHOWN
    ]
    assert set(status["working_changes"][0]) == {
        "object_type",
        "schema_name",
        "object_name",
        "change_type",
        "statement",
        "actor",
        "captured_at",
    }
