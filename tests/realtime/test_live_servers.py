"""Sockets against running servers: uvicorn web processes, ``pggit_listen`` and Redis; events are
committed by psql sessions. Needs DATABASE_URL and REDIS_URL (skipped otherwise)."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from tests.realtime.live import (
    close_code,
    emit,
    next_event,
    open_socket,
    psql,
    receive,
    subscribe,
    wait_for_log,
)

pytestmark = pytest.mark.django_db(transaction=True)

ACTIVE = "pggit_listen is the active listener"
STANDING_BY = "pggit_listen stands by"


def test_an_event_from_psql_reaches_sockets_on_two_web_processes_through_redis(processes):
    web1, web2 = processes.server("web1"), processes.server("web2")
    listener = processes.listener()
    wait_for_log(listener, ACTIVE)
    url = processes.database.url
    with (
        open_socket(web1, subprotocols=["bearer", web1.token]) as first,
        open_socket(web2, f"/ws?token={web2.token}") as second,
    ):
        for socket in (first, second):
            assert subscribe(socket, ["commit.created", "ddl.captured"]) == {
                "type": "subscribed",
                "topics": ["ddl.captured", "commit.created"],
            }
        event_id = emit(url, "commit.created", {"hash": "from-psql"})
        one, two = next_event(first), next_event(second)
        assert one == two
        assert one["id"] == event_id
        assert one["data"] == {"hash": "from-psql"}

        psql(url, "CREATE TABLE public.socket_probe (id integer)")
        ddl = next_event(first)
        assert ddl == next_event(second)
        assert ddl["type"] == "ddl.captured"
        assert ddl["data"]["command_tag"] == "CREATE TABLE"
    # ?token= is never written to a log (uvicorn logs the path of every socket it accepts)
    assert web2.token not in web2.log()
    assert "/ws?token=[redacted]" in web2.log()
    assert "Traceback" not in web1.log() + web2.log() + listener.log()


def test_deep_health_reports_the_forwarding_of_the_listener(processes):
    web = processes.server("web")
    listener = processes.listener()
    wait_for_log(listener, ACTIVE)
    with open_socket(web, f"/ws?token={web.token}") as socket:
        subscribe(socket, ["commit.created"])
        event_id = emit(processes.database.url, "commit.created")
        assert next_event(socket)["id"] == event_id
    with web.client() as client:
        layer = client.get("/health/deep").json()["checks"]["channel_layer"]
    assert layer["status"] == "healthy"
    assert layer["backend"] == "Redis"
    assert layer["forwarded_by"] == "pggit_listen (Redis layer)"
    assert layer["forwarded_event_id"] == event_id
    assert layer["newest_event_id"] == event_id
    assert layer["lag_events"] == 0


def test_listener_failover_loses_no_event(processes):
    web = processes.server("web")
    leader = processes.listener("leader")
    wait_for_log(leader, ACTIVE)
    standby = processes.listener("standby")
    wait_for_log(standby, STANDING_BY)
    url = processes.database.url
    with open_socket(web, f"/ws?token={web.token}") as socket:
        subscribe(socket, ["commit.created"])
        sent = [emit(url, "commit.created", {"n": n}) for n in range(3)]
        received = [next_event(socket)["id"] for _ in sent]
        # the leader dies without a goodbye; events keep coming while nobody forwards them
        leader.popen.send_signal(signal.SIGKILL)
        leader.popen.wait(timeout=10)
        sent += [emit(url, "commit.created", {"n": n}) for n in range(3, 8)]
        wait_for_log(standby, ACTIVE)
        sent += [emit(url, "commit.created", {"n": n}) for n in range(8, 10)]
        while len(received) < len(sent):
            received.append(next_event(socket, timeout=15)["id"])
        assert received == sent
    assert "resumes after event" in standby.log()


def test_a_reconnecting_socket_catches_up_with_since(processes):
    web = processes.server("web")
    listener = processes.listener()
    wait_for_log(listener, ACTIVE)
    url = processes.database.url
    with open_socket(web, f"/ws?token={web.token}") as socket:
        subscribe(socket, ["branch.*"])
        last_seen = emit(url, "branch.created", {"n": 0})
        assert next_event(socket)["id"] == last_seen
    missed = [emit(url, "branch.deleted", {"n": n}) for n in range(1, 4)]
    with open_socket(web, f"/ws?since={last_seen}", subprotocols=["bearer", web.token]) as socket:
        assert subscribe(socket, ["branch.*"])["type"] == "subscribed"
        assert [next_event(socket)["id"] for _ in missed] == missed
        live = emit(url, "branch.created", {"n": 4})
        assert next_event(socket)["id"] == live


def test_plain_http_and_unknown_socket_paths_on_a_running_server(processes):
    web = processes.server("web")
    response = httpx.get(f"{web.base_url}/ws")
    assert response.status_code == 426
    assert response.json()["code"] == "upgrade_required"
    with open_socket(web, "/ws/unknown") as socket:
        assert receive(socket)["code"] == "not_found"
        assert close_code(socket) == 4404
    with open_socket(web, "/api/v1/ws/alerts?token=expired.or.bad") as socket:
        assert json.loads(socket.recv(timeout=10))["code"] == "token_not_valid"
        assert close_code(socket) == 4401
    assert "Traceback" not in web.log()
