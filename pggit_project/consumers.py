"""WebSocket consumers: ``/ws`` (any topics) and ``/api/v1/ws/alerts`` (alert events).

The protocol (docs/realtime.md):

- connect, authenticate (``pggit_project.ws_auth``): a missing, bad or expired token closes the
  socket with 4401, also when the token expires during the connection (a client may send a fresh
  one with ``{"action": "auth", "token": ...}`` before then); a session from a foreign origin and a
  user without the permission of any topic of the path close it with 4403;
- ``{"action": "subscribe"|"unsubscribe", "topics": [...]}`` → ``{"type": "subscribed", "topics":
  [the subscribed topics]}``; topics are event types, ``"<prefix>.*"`` or ``"*"``; a topic the
  user may not read or that does not exist is an ``error`` (nothing of that message is applied);
- ``{"action": "ping"}`` → ``{"type": "pong"}``; ``{"type": "heartbeat"}`` every
  ``PGGIT_WS_HEARTBEAT_SECONDS`` from one task per connection;
- bad JSON, an unknown action or a malformed message → ``{"type": "error", "code", "message"}``,
  and the socket stays open;
- ``?since=<event id>``: each subscribe first replays, from the outbox in id order, the events of
  its new topics after that id; live events are held back meanwhile (the process is a member of
  the topics' groups before the outbox is read, so none falls in between) and those already
  replayed are not sent again.

Live events come from the process's ``TopicHub`` (``pggit_project.realtime``): one membership of
each topic's group per web process, whatever the number of its sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from pggit_project import realtime
from pggit_project.events import EVENT_TYPES
from pggit_project.ws_auth import (
    AuthFailed,
    Identity,
    identity_from_token,
    origin_allowed,
    session_user,
    token_from_subprotocols,
)

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400

REPLAY_BATCH = 500
# Replayed ids are remembered this long, to drop a live copy of one still on its way.
REPLAYED_IDS_SECONDS = 120.0
RECENT_IDS_KEPT = 64
MAX_MESSAGE_CHARS = 65_536
HEARTBEAT_TASK = "websocket heartbeat"

REPLAY = """
SELECT pggit.event_envelope(e)::text
  FROM pggit.events e
 WHERE e.id > %s AND e.type = ANY(%s)
 ORDER BY e.id
 LIMIT %s
"""


def _read_replay_batch(after: int, topics: list[str]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(REPLAY, [after, topics, REPLAY_BATCH])
        return [json.loads(row[0]) for row in cursor.fetchall()]


def _user_permissions(user, permissions: set[str]) -> set[str]:
    return {permission for permission in permissions if user.has_perm(permission)}


def _close_reason(text: str) -> str:
    return text[:120]  # a close frame's reason has at most 123 bytes


class EventsConsumer(AsyncWebsocketConsumer):
    """``/ws``: any topics the user may read; the client subscribes to what it wants."""

    path_topics: tuple[str, ...] = EVENT_TYPES
    subscribe_on_connect = False
    # No channel of the layer per socket: events come from the process's topic hub, which holds
    # the process's one channel (a per-socket channel would cost each socket a task receiving
    # from the layer, for nothing).
    channel_layer_alias = None

    async def connect(self) -> None:
        self.layer = get_channel_layer()
        self.identity: Identity | None = None
        self.topics: list[str] = []
        self.readable_topics: list[str] = []
        self.since: int | None = None
        self.replayed: dict[int, float] = {}
        self.replayed_order: deque[int] = deque()
        # the ids of the last live events sent: a new leader listener may forward again the last
        # events its predecessor forwarded just before it died
        self.recent: deque[int] = deque(maxlen=RECENT_IDS_KEPT)
        # live events held back while a subscribe (and its replay) runs
        self.held: list[tuple[dict[str, Any], str]] | None = None
        self.heartbeat_task: asyncio.Task | None = None
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.closing = False

        token, subprotocol = token_from_subprotocols(self.scope.get("subprotocols") or [])
        await self.accept(subprotocol)

        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        since = query.get("since", [None])[-1]
        if since is not None:
            if not (since.isascii() and since.isdigit()) or len(since) > 18:
                await self.refuse(
                    CLOSE_BAD_REQUEST, "invalid_since", "since must be an event id (an integer)."
                )
                return
            self.since = int(since)
        if token is None:
            token = query.get("token", [None])[-1]

        if token is not None:
            await self.authenticate_with_token(token)
            return
        user = await session_user(self.scope)
        if user is not None:
            if not origin_allowed(self.scope):
                await self.refuse(
                    CLOSE_FORBIDDEN,
                    "origin_not_allowed",
                    "A session may open sockets only from this site's own pages.",
                )
                return
            await self.authenticated(Identity(user=user, expires_at=None, by="session"))
            return
        # No credentials yet: the first message must bring them.
        self.timers["auth"] = asyncio.get_running_loop().call_later(
            settings.PGGIT_WS_AUTH_TIMEOUT_SECONDS,
            self.later,
            CLOSE_UNAUTHENTICATED,
            "not_authenticated",
            'No credentials were given: send {"action": "auth", "token": ...} first.',
        )

    # --- helpers --------------------------------------------------------------------------------

    def later(self, close_code: int, code: str, message: str) -> None:
        """A timer's callback: refuse the connection (closing it) from a task."""
        task = asyncio.ensure_future(self.refuse(close_code, code, message))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def send_json(self, message: dict[str, Any]) -> None:
        if not self.closing:
            await self.send(text_data=json.dumps(message, separators=(",", ":")))

    async def send_error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def refuse(self, close_code: int, code: str, message: str) -> None:
        if self.closing:
            return
        await self.send_error(code, message)
        self.closing = True
        await self.close(code=close_code, reason=_close_reason(message))
        await self.cleanup()

    async def cleanup(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        if self.heartbeat_task is not None:
            self.heartbeat_task.cancel()
            self.heartbeat_task = None
        await self.leave(self.topics)
        self.topics = []

    async def leave(self, topics: list[str]) -> None:
        if self.layer is not None and topics:
            realtime.topic_hub().remove(self, topics)

    # --- authentication -----------------------------------------------------------------------

    async def authenticate_with_token(self, token: object, *, reply: bool = False) -> bool:
        """Authenticate (or, on an authenticated socket, renew) with an access token; ``reply``
        answers ``{"type": "authenticated", "user", "expires_at"}`` (to an ``auth`` message)."""
        try:
            identity = await identity_from_token(token)
        except AuthFailed as failure:
            await self.refuse(CLOSE_UNAUTHENTICATED, failure.code, failure.message)
            return False
        if self.identity is not None:
            if identity.user.pk != self.identity.user.pk:
                await self.send_error(
                    "invalid_message", "A connection cannot change its user: reconnect instead."
                )
                return False
            self.identity = identity
            self.schedule_expiry()
            if reply:
                await self.announce(identity)
        elif not await self.authenticated(identity, announce=reply):
            return False
        return True

    async def announce(self, identity: Identity) -> None:
        await self.send_json(
            {
                "type": "authenticated",
                "user": identity.user.get_username(),
                "expires_at": identity.expires_at.isoformat() if identity.expires_at else None,
            }
        )

    async def authenticated(self, identity: Identity, *, announce: bool = False) -> bool:
        auth_timer = self.timers.pop("auth", None)
        if auth_timer is not None:
            auth_timer.cancel()
        permissions = {realtime.topic_permission(topic) for topic in self.path_topics}
        granted = await database_sync_to_async(_user_permissions)(identity.user, permissions)
        self.readable_topics = [
            topic for topic in self.path_topics if realtime.topic_permission(topic) in granted
        ]
        if not self.readable_topics:
            await self.refuse(
                CLOSE_FORBIDDEN,
                "permission_denied",
                "You do not have permission to read any topic of this socket.",
            )
            return False
        self.identity = identity
        self.schedule_expiry()
        if announce:
            await self.announce(identity)
        self.heartbeat_task = asyncio.create_task(self.heartbeat(), name=HEARTBEAT_TASK)
        if realtime.layer_is_local(self.layer):
            realtime.local_forwarder.attach(asyncio.get_running_loop())
        if self.subscribe_on_connect:
            await self.subscribe(self.readable_topics)
        return True

    def schedule_expiry(self) -> None:
        timer = self.timers.pop("expiry", None)
        if timer is not None:
            timer.cancel()
        if self.identity is None or self.identity.expires_at is None:
            return
        delay = (self.identity.expires_at - datetime.now(UTC)).total_seconds()
        self.timers["expiry"] = asyncio.get_running_loop().call_later(
            max(delay, 0),
            self.later,
            CLOSE_UNAUTHENTICATED,
            "token_expired",
            "The access token expired.",
        )

    async def heartbeat(self) -> None:
        interval = settings.PGGIT_WS_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(interval)
            await self.send_json({"type": "heartbeat"})

    # --- client messages ------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.closing:
            return
        if text_data is None:
            await self.send_error("invalid_message", "Messages are JSON text frames.")
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self.send_error("invalid_message", "The message is too large.")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_error("invalid_json", "The message is not valid JSON.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("action"), str):
            await self.send_error("invalid_message", 'A message is a JSON object with an "action".')
            return
        action = message["action"]
        if action == "auth":
            await self.authenticate_with_token(message.get("token"), reply=True)
            return
        if self.identity is None:
            await self.refuse(
                CLOSE_UNAUTHENTICATED,
                "not_authenticated",
                'Authenticate first: {"action": "auth", "token": ...}.',
            )
            return
        if action == "ping":
            await self.send_json({"type": "pong"})
        elif action in ("subscribe", "unsubscribe"):
            topics = message.get("topics")
            if not isinstance(topics, list) or not topics:
                await self.send_error(
                    "invalid_message", '"topics" must be a non-empty list of topic names.'
                )
                return
            await (self.subscribe if action == "subscribe" else self.unsubscribe)(topics)
        else:
            await self.send_error("unknown_action", f"Unknown action {action[:40]!r}.")

    async def subscribe(self, requested: list) -> None:
        topics, unknown = realtime.expand_topics(requested, self.path_topics)
        if unknown:
            await self.send_error(
                "unknown_topic",
                "Unknown topic(s) on this socket.",
                topics=[str(name)[:60] for name in unknown[:20]],
            )
            return
        forbidden = [topic for topic in topics if topic not in self.readable_topics]
        if forbidden:
            await self.send_error(
                "permission_denied",
                "You do not have permission to read these topics.",
                topics=forbidden,
            )
            return
        new = [topic for topic in topics if topic not in self.topics]
        self.held = []  # live events wait until the answer (and the replay) are sent
        try:
            try:
                await realtime.topic_hub().add(self, new)
            except Exception as exc:
                logger.warning("could not join a topic group (%s)", type(exc).__name__)
                await self.send_error(
                    "unavailable",
                    "The event stream is unavailable right now: subscribe again later.",
                )
                return
            self.topics = [topic for topic in self.path_topics if topic in {*self.topics, *new}]
            await self.send_json({"type": "subscribed", "topics": self.topics})
            if new and self.since is not None:
                await self.replay(new)
        finally:
            held, self.held = self.held, None
            for event, text in held:
                await self.deliver(event, text)

    async def unsubscribe(self, requested: list) -> None:
        topics, unknown = realtime.expand_topics(requested, self.path_topics)
        if unknown:
            await self.send_error(
                "unknown_topic",
                "Unknown topic(s) on this socket.",
                topics=[str(name)[:60] for name in unknown[:20]],
            )
            return
        leaving = [topic for topic in topics if topic in self.topics]
        await self.leave(leaving)
        self.topics = [topic for topic in self.topics if topic not in leaving]
        await self.send_json({"type": "subscribed", "topics": self.topics})

    async def replay(self, topics: list[str]) -> None:
        after = self.since
        while True:
            batch = await database_sync_to_async(_read_replay_batch)(after, topics)
            now = time.monotonic()
            for envelope in batch:
                self.remember_replayed(envelope["id"], now)
                await self.send_json({"type": "event", "event": envelope})
            if len(batch) < REPLAY_BATCH or self.closing:
                return
            after = batch[-1]["id"]

    def remember_replayed(self, event_id: int, now: float) -> None:
        self.replayed[event_id] = now
        self.replayed_order.append(event_id)
        while self.replayed_order:
            oldest = self.replayed_order[0]
            if now - self.replayed.get(oldest, now) <= REPLAYED_IDS_SECONDS:
                break
            self.replayed_order.popleft()
            self.replayed.pop(oldest, None)

    async def deliver(self, event: dict[str, Any], text: str) -> None:
        """A live event from the process's topic hub (``pggit_project.realtime.TopicHub``);
        ``text`` is its socket message, serialised once for all sockets."""
        if self.closing:
            return
        if self.held is not None:
            self.held.append((event, text))
            return
        if event["type"] not in self.topics:
            return
        if event["id"] in self.replayed:
            del self.replayed[event["id"]]
            return
        if event["id"] in self.recent:  # sent twice across a listener failover
            return
        self.recent.append(event["id"])
        await self.send(text_data=text)

    async def disconnect(self, code) -> None:
        self.closing = True
        await self.cleanup()


class AlertEventsConsumer(EventsConsumer):
    """``/api/v1/ws/alerts``: the alert topics, subscribed to as soon as the socket is
    authenticated (``unsubscribe``/``subscribe`` narrow or widen that)."""

    path_topics = tuple(topic for topic in EVENT_TYPES if topic.startswith("alert."))
    subscribe_on_connect = True


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other socket path: accepted only to be closed with 4404 and an ``error`` message."""

    channel_layer_alias = None  # no channel of the layer for a socket about to be closed

    async def connect(self) -> None:
        await self.accept()
        await self.send(
            text_data=json.dumps(
                {
                    "type": "error",
                    "code": "not_found",
                    "message": "No socket at this path: use /ws or /api/v1/ws/alerts.",
                }
            )
        )
        await self.close(code=CLOSE_NOT_FOUND)
