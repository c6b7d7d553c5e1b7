"""The socket protocol with Channels' WebsocketCommunicator: auth, topics, replay, errors.

Real PostgreSQL (events are committed from connections of their own) and the configured channel
layer (Redis when REDIS_URL is set, in memory otherwise)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from pggit_project.asgi import application
from pggit_project.consumers import HEARTBEAT_TASK
from pggit_project.events import EVENT_TYPES
from tests.realtime.conftest import emit, make_user, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ALERT_TOPICS = ["alert.fired", "alert.acknowledged", "alert.resolved"]


async def open_socket(path: str, **kwargs) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, **kwargs)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    return communicator


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 5) -> tuple[list, int]:
    """The messages sent before the close, and the close code."""
    messages = []
    while True:
        output = await communicator.receive_output(timeout)
        if output["type"] == "websocket.close":
            return messages, output.get("code")
        messages.append(json.loads(output["text"]))


async def subscribe(communicator, topics) -> dict:
    await communicator.send_json_to({"action": "subscribe", "topics": topics})
    return await communicator.receive_json_from(5)


async def next_event(communicator, timeout: float = 10) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout)
        if message["type"] == "event":
            return message["event"]


async def no_message(communicator, timeout: float = 0.5) -> bool:
    return await communicator.receive_nothing(timeout)


# --- authentication ------------------------------------------------------------------------------


async def test_token_in_the_subprotocol_header_authenticates(reader):
    token = await sync_to_async(token_for)(reader)
    communicator = WebsocketCommunicator(application, "/ws", subprotocols=["bearer", token])
    connected, subprotocol = await communicator.connect(timeout=10)
    assert connected and subprotocol == "bearer"
    assert await subscribe(communicator, ["commit.created"]) == {
        "type": "subscribed",
        "topics": ["commit.created"],
    }
    await communicator.disconnect()


async def test_token_in_the_query_authenticates(reader):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}")
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from(5) == {"type": "pong"}
    await communicator.disconnect()


async def test_token_in_the_first_message_authenticates(reader):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket("/ws")
    await communicator.send_json_to({"action": "auth", "token": token})
    reply = await communicator.receive_json_from(5)
    assert reply["type"] == "authenticated"
    assert reply["user"] == "socket-reader"
    assert await subscribe(communicator, ["branch.*"]) == {
        "type": "subscribed",
        "topics": ["branch.created", "branch.deleted", "branch.checked_out"],
    }
    await communicator.disconnect()


@pytest.mark.parametrize("way", ["subprotocol", "query", "message"])
async def test_a_bad_token_is_closed_with_4401_whichever_way_it_comes(reader, way):
    bad = "not.a.token"
    if way == "subprotocol":
        communicator = await open_socket("/ws", subprotocols=["bearer", bad])
    elif way == "query":
        communicator = await open_socket(f"/ws?token={bad}")
    else:
        communicator = await open_socket("/ws")
        await communicator.send_json_to({"action": "auth", "token": bad})
    messages, code = await closed_with(communicator)
    assert code == 4401
    assert messages == [
        {
            "type": "error",
            "code": "token_not_valid",
            "message": "The access token is invalid or expired.",
        }
    ]


async def test_an_expired_token_is_closed_with_4401(reader):
    token = await sync_to_async(token_for)(reader, timedelta(seconds=-5))
    communicator = await open_socket(f"/ws?token={token}")
    messages, code = await closed_with(communicator)
    assert code == 4401
    assert messages[0]["code"] == "token_not_valid"


async def test_a_token_expiring_mid_session_closes_with_4401(reader):
    token = await sync_to_async(token_for)(reader, timedelta(seconds=2))
    communicator = await open_socket(f"/ws?token={token}")
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from(5) == {"type": "pong"}
    messages, code = await closed_with(communicator, timeout=6)
    assert code == 4401
    assert messages == [
        {"type": "error", "code": "token_expired", "message": "The access token expired."}
    ]


async def test_a_fresh_token_sent_before_expiry_keeps_the_socket_open(reader):
    short = await sync_to_async(token_for)(reader, timedelta(seconds=2))
    communicator = await open_socket(f"/ws?token={short}")
    fresh = await sync_to_async(token_for)(reader, timedelta(minutes=5))
    await communicator.send_json_to({"action": "auth", "token": fresh})
    assert (await communicator.receive_json_from(5))["type"] == "authenticated"
    await asyncio.sleep(3)
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from(5) == {"type": "pong"}
    await communicator.disconnect()


async def test_no_credentials_closes_with_4401_after_the_auth_timeout(reader, settings):
    settings.PGGIT_WS_AUTH_TIMEOUT_SECONDS = 1
    communicator = await open_socket("/ws")
    messages, code = await closed_with(communicator, timeout=5)
    assert code == 4401
    assert messages[0]["code"] == "not_authenticated"


async def test_an_action_before_authenticating_closes_with_4401(reader):
    communicator = await open_socket("/ws")
    await communicator.send_json_to({"action": "subscribe", "topics": ["*"]})
    messages, code = await closed_with(communicator)
    assert code == 4401
    assert messages[0]["code"] == "not_authenticated"


async def test_a_user_without_any_topic_permission_is_closed_with_4403(nobody):
    token = await sync_to_async(token_for)(nobody)
    communicator = await open_socket(f"/api/v1/ws/alerts?token={token}")
    messages, code = await closed_with(communicator)
    assert code == 4403
    assert messages[0]["code"] == "permission_denied"


async def test_a_topic_without_permission_is_an_error_and_nothing_is_subscribed(alert_reader):
    token = await sync_to_async(token_for)(alert_reader)
    communicator = await open_socket(f"/ws?token={token}")
    reply = await subscribe(communicator, ["alert.fired", "ddl.captured"])
    assert reply == {
        "type": "error",
        "code": "permission_denied",
        "message": "You do not have permission to read these topics.",
        "topics": ["ddl.captured"],
    }
    not_alerts = [topic for topic in EVENT_TYPES if not topic.startswith("alert.")]
    assert await subscribe(communicator, ["*"]) == reply | {"topics": not_alerts}
    assert await subscribe(communicator, ["alert.*"]) == {
        "type": "subscribed",
        "topics": ALERT_TOPICS,
    }
    await communicator.disconnect()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def test_a_staff_session_from_the_site_itself_authenticates(transactional_db):
    staff = await sync_to_async(make_user)("console-staff", is_staff=True, is_superuser=True)
    cookie = await sync_to_async(session_cookie)(staff)
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"origin", b"http://127.0.0.1:8000"),
        (b"cookie", f"sessionid={cookie}".encode()),
    ]
    communicator = await open_socket("/api/v1/ws/alerts", headers=headers)
    assert await communicator.receive_json_from(5) == {"type": "subscribed", "topics": ALERT_TOPICS}
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_a_staff_session_from_another_origin_is_closed_with_4403(transactional_db, origin):
    staff = await sync_to_async(make_user)("console-staff", is_staff=True, is_superuser=True)
    cookie = await sync_to_async(session_cookie)(staff)
    headers = [(b"host", b"127.0.0.1:8000"), (b"cookie", f"sessionid={cookie}".encode())]
    if origin:
        headers.append((b"origin", origin))
    communicator = await open_socket("/ws", headers=headers)
    messages, code = await closed_with(communicator)
    assert code == 4403
    assert messages[0]["code"] == "origin_not_allowed"


async def test_a_non_staff_session_does_not_authenticate(transactional_db, settings):
    settings.PGGIT_WS_AUTH_TIMEOUT_SECONDS = 1
    user = await sync_to_async(make_user)("plain", "alerts.view_alert")
    cookie = await sync_to_async(session_cookie)(user)
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"origin", b"http://127.0.0.1:8000"),
        (b"cookie", f"sessionid={cookie}".encode()),
    ]
    communicator = await open_socket("/api/v1/ws/alerts", headers=headers)
    messages, code = await closed_with(communicator)
    assert messages[0]["code"] == "not_authenticated"
    assert code == 4401


# --- paths, messages ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/nope", "/", "/api/v1/ws/other", "/api/v1/alerts"])
async def test_an_unknown_socket_path_closes_cleanly_with_4404(path):
    communicator = await open_socket(path)
    messages, code = await closed_with(communicator)
    assert code == 4404
    assert messages[0]["code"] == "not_found"


async def test_bad_json_and_unknown_actions_get_an_error_and_the_socket_stays(reader):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}")
    cases = [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('{"action": "dance"}', "unknown_action"),
        ('{"action": "subscribe", "topics": "alert.fired"}', "invalid_message"),
        ('{"action": "subscribe", "topics": ["no.such"]}', "unknown_topic"),
    ]
    for text, code in cases:
        await communicator.send_to(text_data=text)
        reply = await communicator.receive_json_from(5)
        assert reply["type"] == "error"
        assert reply["code"] == code, text
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_json_from(5))["code"] == "invalid_message"
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from(5) == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "99999999999999999999"])
async def test_a_bad_since_closes_with_4400(reader, since):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}&since={since}")
    messages, code = await closed_with(communicator)
    assert code == 4400
    assert messages[0]["code"] == "invalid_since"


# --- events ------------------------------------------------------------------------------------


async def test_an_event_committed_elsewhere_reaches_a_subscribed_socket(reader, forwarding):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}")
    await subscribe(communicator, ["commit.created"])
    await sync_to_async(forwarding.wait_local)()
    event_id = await sync_to_async(emit)("commit.created", '{"hash": "abc"}')
    event = await next_event(communicator)
    assert event["id"] == event_id
    assert event["type"] == "commit.created"
    assert event["data"] == {"hash": "abc"}
    assert event["occurred_at"].endswith("+00:00")
    await communicator.disconnect()


async def test_unsubscribe_stops_the_topic(reader, forwarding):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}")
    await subscribe(communicator, ["commit.created", "branch.created"])
    await sync_to_async(forwarding.wait_local)()
    await communicator.send_json_to({"action": "unsubscribe", "topics": ["commit.created"]})
    assert await communicator.receive_json_from(5) == {
        "type": "subscribed",
        "topics": ["branch.created"],
    }
    await sync_to_async(emit)("commit.created")
    branch_id = await sync_to_async(emit)("branch.created")
    assert (await next_event(communicator))["id"] == branch_id  # the commit never came
    assert await no_message(communicator)
    await communicator.disconnect()


async def test_the_alerts_socket_gets_alert_events_only(reader, forwarding):
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/api/v1/ws/alerts?token={token}")
    assert await communicator.receive_json_from(5) == {"type": "subscribed", "topics": ALERT_TOPICS}
    await sync_to_async(forwarding.wait_local)()
    await sync_to_async(emit)("ddl.captured")
    alert_id = await sync_to_async(emit)("alert.fired", '{"id": 7}')
    assert (await next_event(communicator))["id"] == alert_id
    reply = await subscribe(communicator, ["ddl.captured"])
    assert reply["code"] == "unknown_topic"
    await communicator.disconnect()


async def test_since_replays_exactly_the_missed_events_in_order_then_live_ones(reader, forwarding):
    before = await sync_to_async(emit)("commit.created", '{"n": 0}')
    missed = []
    for n in range(1, 6):
        missed.append(await sync_to_async(emit)("commit.created", f'{{"n": {n}}}'))
        await sync_to_async(emit)("branch.created", f'{{"n": {n}}}')  # another topic
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}&since={before}")
    assert await subscribe(communicator, ["commit.created"]) == {
        "type": "subscribed",
        "topics": ["commit.created"],
    }
    await sync_to_async(forwarding.wait_local)()
    replayed = [await next_event(communicator) for _ in missed]
    assert [event["id"] for event in replayed] == missed
    assert [event["data"]["n"] for event in replayed] == [1, 2, 3, 4, 5]
    live = await sync_to_async(emit)("commit.created", '{"n": 6}')
    assert (await next_event(communicator))["id"] == live
    assert await no_message(communicator)
    await communicator.disconnect()


async def test_since_with_events_committed_during_the_replay_has_no_gap_and_no_duplicate(
    reader, forwarding
):
    start = await sync_to_async(emit)("commit.created")
    for _ in range(30):
        await sync_to_async(emit)("commit.created")
    token = await sync_to_async(token_for)(reader)
    communicator = await open_socket(f"/ws?token={token}&since={start}")
    await sync_to_async(forwarding.wait_local)()
    await communicator.send_json_to({"action": "subscribe", "topics": ["commit.created"]})
    # more events commit while the socket subscribes and replays
    committed = [await sync_to_async(emit)("commit.created") for _ in range(20)]
    expected_last = committed[-1]
    received = []
    while not received or received[-1] < expected_last:
        received.append((await next_event(communicator))["id"])
    assert await no_message(communicator, 1.0)
    assert len(received) == len(set(received))
    assert received == sorted(received)
    assert received[0] == start + 1
    assert set(committed) <= set(received)
    await communicator.disconnect()


async def test_heartbeats_do_not_multiply_with_connections(reader, settings):
    settings.PGGIT_WS_HEARTBEAT_SECONDS = 0.4
    token = await sync_to_async(token_for)(reader)
    sockets = [await open_socket(f"/ws?token={token}") for _ in range(5)]
    for communicator in sockets:  # a pong: the socket is authenticated
        await communicator.send_json_to({"action": "ping"})
        assert await communicator.receive_json_from(5) == {"type": "pong"}
    tasks = [task for task in asyncio.all_tasks() if task.get_name() == HEARTBEAT_TASK]
    assert len(tasks) == 5
    await asyncio.sleep(2.1)  # 5 intervals
    for communicator in sockets:
        beats = 0
        while not await communicator.receive_nothing(0.01):
            message = await communicator.receive_json_from(1)
            assert message == {"type": "heartbeat"}
            beats += 1
        assert 4 <= beats <= 6, beats
    for communicator in sockets:
        await communicator.disconnect()
    await asyncio.sleep(0.1)
    assert not [task for task in asyncio.all_tasks() if task.get_name() == HEARTBEAT_TASK]
