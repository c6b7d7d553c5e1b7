"""/health/deep's webhook_worker check, and the development receiver command."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest
from django.db import connection

from tests.webhooks.conftest import create_endpoint, emit
from tests.webhooks.workers import BASE_DIR, wait_for, worker_env
from webhooks.delivery.worker import deliver_until_idle
from webhooks.receiver import describe
from webhooks.signing import signed_headers


def beat(name: str, seconds_ago: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pggit.webhook_workers (name, hostname, pid, heartbeat_at)"
            " VALUES (%s, 'host', 1, now() - make_interval(secs => %s))",
            [name, seconds_ago],
        )


def test_deep_health_reports_the_worker_to_staff(staff_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    create_endpoint("https://hooks.example.com/x")
    beat("w1", 3)
    emit("commit.created")

    check = staff_client.get("/health/deep").json()["checks"]["webhook_worker"]

    assert check["status"] == "healthy"
    assert (check["workers"], check["backlog"], check["active_endpoints"]) == (1, 1, 1)
    assert 2.5 <= check["heartbeat_age_seconds"] < 60
    assert check["oldest_due_age_seconds"] >= 0


def test_due_deliveries_without_a_live_worker_degrade_health(api_client, settings, db):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    create_endpoint("https://hooks.example.com/x")
    beat("gone", 600)
    emit("commit.created")

    response = api_client.get("/health/deep")

    assert response.json()["checks"]["webhook_worker"] == {"status": "degraded"}


@pytest.mark.django_db
def test_the_receiver_verifies_signatures():
    secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    headers = signed_headers(
        msg_id="7", timestamp=int(time.time()), body='{"id":7}', secrets=[secret]
    )

    good, text = describe(path="/", headers=headers, body=b'{"id":7}', secret=secret)
    bad, _ = describe(path="/", headers=headers, body=b'{"id":8}', secret=secret)

    assert (good, bad) == (True, False)
    assert "webhook-id=7" in text
    assert "[signature OK]" in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_webhook_receiver_command_prints_what_arrives(tmp_path):
    port = free_port()
    created = create_endpoint(f"http://127.0.0.1:{port}/")
    log = (tmp_path / "receiver.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "webhook_receiver", "--port", str(port)],
        cwd=BASE_DIR,
        env={**worker_env(), "WEBHOOK_RECEIVER_SECRET": created.secret},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _answers(port), 60, "the receiver to listen")
        event_id = emit("branch.created", {"name": "feature"})
        deliver_until_idle()
        output = (tmp_path / "receiver.log").read_text()
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()

    assert f"webhook-id={event_id}" in output
    assert "[signature OK]" in output
    assert '"name": "feature"' in output


def _answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
    except httpx.HTTPError:
        return False
    return True
