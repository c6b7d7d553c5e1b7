"""Events to WebSockets: topics, their permissions, the channel layer's groups, and forwarding.

Every outbox event goes to the channel layer group of its type (its *topic*). Each web process
joins a topic's group once (``TopicHub``) and hands the events to its sockets subscribed to the
topic (``pggit_project.consumers``), so an event crosses the layer once per process, not once per
socket. Who sends to the groups:

- with Redis (channels-redis): the active ``manage.py pggit_listen`` (one per database, by advisory
  lock), through the event handler ``websockets`` registered here; every web process receives
  through Redis, whatever process or psql session committed the event;
- without Redis (the in-memory layer reaches one process only): each web process follows the
  outbox itself with a thread (``LocalForwarder``), started by its first socket.

Each forwarder records how far it got (``forwarding_position``), which ``/health/deep`` compares
with the outbox (``channel_layer`` check: layer reachable, forwarding, lag). See docs/realtime.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.core.cache import cache
from django.db import connection, connections

from pggit_project.events import EVENT_TYPES, Event
from pggit_project.outage import database_reachability

logger = logging.getLogger(__name__)

EVENT_MESSAGE = "event.message"  # the layer message type; handled by ``event_message``
# Forwarding counts as stalled when the oldest event it has not sent is older than this.
LAG_DEGRADED_SECONDS = 30.0

# The permission a user needs for a topic, by the topic's first part; any other topic needs the
# view permission of the outbox itself.
TOPIC_PERMISSION_BY_PREFIX = {
    "alert": "alerts.view_alert",
    "webhook": "webhooks.view_webhookendpoint",
}
OUTBOX_PERMISSION = "vcs.view_event"


def topic_permission(topic: str) -> str:
    return TOPIC_PERMISSION_BY_PREFIX.get(topic.split(".", 1)[0], OUTBOX_PERMISSION)


def expand_topics(requested: Iterable[str], available: Iterable[str]) -> tuple[list[str], list]:
    """Concrete topics for ``requested``: exact event types, ``"<prefix>.*"`` or ``"*"``.

    Returns ``(topics, unknown)``: the topics in ``available`` they name, in ``available``'s order,
    and the requested names that name none."""
    available = list(available)
    chosen: set[str] = set()
    unknown = []
    for name in requested:
        if not isinstance(name, str):
            unknown.append(name)
            continue
        if name == "*":
            matches = available
        elif name.endswith(".*"):
            matches = [topic for topic in available if topic.startswith(name[:-1])]
        else:
            matches = [name] if name in available else []
        if not matches:
            unknown.append(name)
        chosen.update(matches)
    return [topic for topic in available if topic in chosen], unknown


def _database_tag() -> str:
    name = str(connections["default"].settings_dict.get("NAME") or "default")
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:60]


def group_name(topic: str) -> str:
    """The layer group of ``topic`` for this database (one Redis may serve several databases)."""
    return f"pggit.{_database_tag()}.{topic}"


def layer_is_local(layer=None) -> bool:
    layer = layer if layer is not None else get_channel_layer()
    return isinstance(layer, InMemoryChannelLayer)


# --- one membership per process ----------------------------------------------------------------

HUB_REFRESH_SECONDS = 600.0  # group memberships expire in the layer (a day): renewed this often


class TopicHub:
    """A web process's memberships of the topic groups, shared by all its sockets.

    The process joins each topic's group once, with one channel of its own, and hands every event
    it receives to the sockets subscribed to that topic here: an event crosses Redis once per web
    process, not once per socket. ``deliver(event, text)`` of each subscriber is awaited in turn
    (``text``: the socket message, serialised once), so each socket gets events in the order the
    hub received them.

    A hub belongs to one event loop (``topic_hub``): its tasks (the receiving task and the tasks
    leaving groups) are tasks of that loop, kept in ``tasks``, and all end when cancelled —
    ``aclose()`` cancels and awaits them."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.source = layer  # the configured layer it was made for (``topic_hub``)
        self.channel: str | None = None
        self.subscribers: dict[str, set] = {}
        self.joined: set[str] = set()
        self.task: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()

    def _spawn(self, coroutine, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def add(self, subscriber, topics: Iterable[str]) -> None:
        """Subscribe ``subscriber``; once this returns, the process is a member of every topic's
        group (an event committed from now on reaches the subscriber)."""
        topics = list(topics)
        for topic in topics:
            self.subscribers.setdefault(topic, set()).add(subscriber)
        try:
            if self.task is None or self.task.done():
                self.joined = set()
                # the default prefix: channels-redis receives all of a process's channels as one
                self.channel = await self.layer.new_channel()
                self.task = self._spawn(self._run(self.channel), HUB_TASK)
            for topic in topics:
                if topic not in self.joined:
                    await self.layer.group_add(group_name(topic), self.channel)
                    self.joined.add(topic)
        except Exception:
            self.remove(subscriber, topics)
            raise

    def remove(self, subscriber, topics: Iterable[str]) -> None:
        """Unsubscribe; the last subscriber gone, the process leaves the groups."""
        for topic in topics:
            subscribers = self.subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(subscriber)
        if not any(self.subscribers.values()):
            self._stop()

    def _stop(self) -> None:
        task, channel, joined = self.task, self.channel, self.joined
        self.task, self.channel, self.joined, self.subscribers = None, None, set(), {}
        if task is not None:
            task.cancel()
        if channel is not None and joined:
            self._spawn(self._leave(channel, joined), HUB_LEAVE_TASK)

    async def aclose(self) -> None:
        """Stop receiving and wait until every task of the hub has ended."""
        self._stop()
        for task in list(self.tasks):
            await _cancel_until_done(task)

    async def _leave(self, channel: str, topics: set[str]) -> None:
        try:
            for topic in topics:
                await self.layer.group_discard(group_name(topic), channel)
        except Exception as exc:  # the membership expires by itself (the layer's group expiry)
            _stop_if_cancelled(exc)
            logger.warning("could not leave a topic group (%s)", type(exc).__name__)

    async def _receive(self, channel: str) -> dict[str, Any]:
        """The layer's next message, received by a task of its own that is cancelled until it
        has ended.

        The layer's client does not reliably end when cancelled: redis-py sends each command
        under Python 3.11's ``asyncio.wait_for``, which drops a cancellation that comes as the
        command was just sent, and channels-redis's ``receive()`` then carries on blocking on
        Redis (5 s at a time, forever). Awaited directly, that receive would keep the hub — and
        whoever waits for it: a server's shutdown, the end of a test's event loop — waiting. Here
        the hub's own task always ends at once when cancelled, and it cancels the receiving task
        again until that one has ended too."""
        receiving = asyncio.get_running_loop().create_task(
            self.layer.receive(channel), name=HUB_RECEIVE_TASK
        )
        try:
            await asyncio.wait([receiving])
        finally:
            if not receiving.done():
                await _cancel_until_done(receiving)
        return receiving.result()

    async def _run(self, channel: str) -> None:
        joined = self.joined
        renew_at = time.monotonic() + HUB_REFRESH_SECONDS
        while True:
            try:
                if time.monotonic() >= renew_at:
                    for topic in list(joined):  # the memberships expire: join again
                        await self.layer.group_add(group_name(topic), channel)
                    renew_at = time.monotonic() + HUB_REFRESH_SECONDS
                message = await self._receive(channel)
            except Exception as exc:  # Redis unreachable: retry, and join again (it may be new)
                _stop_if_cancelled(exc)
                logger.warning(
                    "the topic hub lost the channel layer (%s: %s)", type(exc).__name__, exc
                )
                await asyncio.sleep(1.0)
                renew_at = time.monotonic()
                continue
            if message.get("type") != EVENT_MESSAGE:
                continue
            event = message["event"]
            subscribers = list(self.subscribers.get(event.get("type"), ()))
            # one serialisation for all the sockets; each send only writes to its transport
            text = json.dumps({"type": "event", "event": event}, separators=(",", ":"))
            for subscriber in subscribers:
                try:
                    await subscriber.deliver(event, text)
                except Exception as exc:  # that socket's problem (e.g. closing), not the others'
                    _stop_if_cancelled(exc)
                    logger.debug("event %s not sent to a socket (%s)", event.get("id"), exc)


HUB_TASK = "topic hub"
HUB_RECEIVE_TASK = "topic hub: receive"
HUB_LEAVE_TASK = "topic hub: leave groups"
# How long a cancelled task gets to end before it is cancelled again.
CANCEL_AGAIN_SECONDS = 0.05


async def _cancel_until_done(task: asyncio.Task) -> None:
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=CANCEL_AGAIN_SECONDS)


def _stop_if_cancelled(exc: Exception) -> None:
    """Raise ``CancelledError`` if the running task was asked to stop.

    A cancellation may surface as another exception: channels-redis's ``receive()``, cancelled
    while it waits for its per-channel lock, releases a lock it does not hold and raises
    ``RuntimeError``. A task that logged that and carried on would outlive its cancellation (and
    hang whoever waits for it: a server's shutdown, the event loop's teardown)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc


_hubs: dict[asyncio.AbstractEventLoop, TopicHub] = {}


def topic_hub() -> TopicHub:
    """The hub of the running event loop (a server has one loop; tests have one per test).

    With channels-redis, each loop's hub receives through a layer instance of its own: the
    process-wide instance (``get_channel_layer()``) keeps receive state — locks, buffers, the loop
    of its receiver — that is valid on one event loop only, and a task of an ended loop can leave
    it locked for good. The instance's Redis connections belong to the loop and are closed with
    it (channels-redis closes them when the loop closes). The in-memory layer is one instance:
    it is the process's whole channel layer."""
    loop = asyncio.get_running_loop()
    source = get_channel_layer()
    hub = _hubs.get(loop)
    if hub is None or hub.source is not source:
        for stale in [other for other in _hubs if other.is_closed()]:
            del _hubs[stale]
        if layer_is_local(source):
            layer = source
        else:
            layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        hub = _hubs[loop] = TopicHub(layer)
        hub.source = source
    return hub


# --- forwarding ---------------------------------------------------------------------------------


def _position_key() -> str:
    return f"pggit:ws:forwarded:{_database_tag()}"


def record_position(event_id: int) -> None:
    try:
        cache.set(_position_key(), {"id": event_id, "at": time.time()}, timeout=None)
    except Exception as exc:  # the position feeds the health check only; forwarding goes on
        logger.warning("could not record the forwarding position (%s)", type(exc).__name__)


def forwarding_position() -> dict[str, Any] | None:
    """``{"id": last forwarded event id, "at": unix time}`` or None (nothing recorded yet)."""
    return cache.get(_position_key())


# A new leader resumes at most this many events behind the newest (older ones are left to the
# clients' ?since=).
RESUME_MAX_EVENTS = 10_000


def resume_position(newest: int) -> int | None:
    """Where ``pggit_listen`` starts when it becomes the leader: after the last event forwarded by
    the previous leader, so events committed while none was active still reach the sockets."""
    try:
        position = forwarding_position()
    except Exception as exc:
        logger.warning("could not read the forwarding position (%s)", type(exc).__name__)
        return None
    if position is None:
        return None
    resume = int(position["id"])
    if newest - resume > RESUME_MAX_EVENTS:
        logger.warning(
            "the last forwarded event is %s events behind: resuming %s events back",
            newest - resume,
            RESUME_MAX_EVENTS,
        )
        return newest - RESUME_MAX_EVENTS
    return resume


async def send_events(layer, events: list[Event]) -> None:
    for event in events:
        if event.type not in EVENT_TYPES:
            continue
        await layer.group_send(
            group_name(event.type), {"type": EVENT_MESSAGE, "event": event.envelope()}
        )


class LayerForwarder:
    """The ``websockets`` event handler of ``pggit_listen``: sends events to the Redis layer.

    It runs in the listener's thread, with an event loop of its own kept until ``close()`` (the
    layer's Redis connections belong to that loop; channels-redis closes them when the loop
    closes)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle(self, events: list[Event]) -> None:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(send_events(get_channel_layer(), events))
        record_position(events[-1].id)

    def close(self) -> None:
        """Close the loop and with it the layer's connections of this thread."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.close()

    def resync(self) -> None:
        # The listener (re)starts after the newest event it had seen or found: up to there,
        # nothing is owed to the sockets (a reconnecting socket catches up with ?since=).
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM pggit.events")
            record_position(cursor.fetchone()[0])


class LocalForwarder:
    """Without Redis: a thread of the web process following the outbox into its in-memory layer.

    The layer's queues belong to the server's event loop, so the thread hands each batch to that
    loop (``run_coroutine_threadsafe``); ``attach`` tells it the loop, at each socket's connect."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connected: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        from pggit_project.listener import EventListener

        self.loop = loop
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self.stop.clear()
            listener = EventListener(
                on_events=self.on_events,
                on_connected=self.on_connected,
                leader=False,
                stop=self.stop,
                name="websocket forwarder",
            )
            self.connected = listener.connected
            self._thread = threading.Thread(
                target=listener.run, name="websocket-forwarder", daemon=True
            )
            self._thread.start()

    def on_events(self, events: list[Event]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(send_events(get_channel_layer(), events), loop)
        try:
            future.result(timeout=10)
        except Exception as exc:
            logger.warning("websocket forwarder could not send events (%s)", type(exc).__name__)
            return
        record_position(events[-1].id)

    def on_connected(self) -> None:
        from pggit_project.listener import connect

        with connect() as conn:
            record_position(
                conn.execute("SELECT coalesce(max(id), 0) FROM pggit.events").fetchone()[0]
            )

    def shutdown(self) -> None:
        self.stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None


local_forwarder = LocalForwarder()


def register_forwarding() -> None:
    """Register the ``websockets`` handler of ``pggit_listen`` when the layer crosses processes."""
    from django.conf import settings

    from pggit_project.events import register_event_handler

    if not settings.REDIS_URL:
        return  # each web process forwards for itself (LocalForwarder)
    forwarder = LayerForwarder()
    register_event_handler(
        "websockets", handle=forwarder.handle, resync=forwarder.resync, close=forwarder.close
    )


# --- health ---------------------------------------------------------------------------------------

LAG = """
SELECT coalesce((SELECT max(id) FROM pggit.events), 0),
       count(*), extract(epoch FROM clock_timestamp() - min(occurred_at))
  FROM pggit.events WHERE id > %s
"""


def socket_path_check():
    """``channel_layer`` of ``/health/deep``: a layer round trip, and whether events are forwarded
    to the layer (``forwarded_event_id``, ``newest_event_id``, ``lag_events``, ``lag_seconds``)."""
    from pggit_project.health import DEGRADED, HEALTHY, CheckResult, probe_channel_layer

    details = probe_channel_layer()
    details["forwarded_by"] = (
        "this web process (in-memory layer)" if layer_is_local() else "pggit_listen (Redis layer)"
    )
    if database_reachability.failing():
        # the database check reports the outage; waiting here for the pool's timeout as well
        # would only hold a health request (and the pool) longer while the database is down
        details["lag"] = "unknown: the database is unreachable"
        return CheckResult(HEALTHY, details)
    position = forwarding_position()
    if position is None:
        details.update(forwarded_event_id=None, forwarded_at=None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM pggit.events")
            details["newest_event_id"] = cursor.fetchone()[0]
        return CheckResult(HEALTHY, details)
    with connection.cursor() as cursor:
        cursor.execute(LAG, [position["id"]])
        newest, behind, lag_seconds = cursor.fetchone()
    details.update(
        forwarded_event_id=position["id"],
        forwarded_seconds_ago=round(time.time() - position["at"], 1),
        newest_event_id=newest,
        lag_events=behind,
        lag_seconds=round(float(lag_seconds or 0), 3),
    )
    if lag_seconds is not None and float(lag_seconds) > LAG_DEGRADED_SECONDS:
        details["problem"] = "events are not being forwarded to the sockets"
        return CheckResult(DEGRADED, details)
    return CheckResult(HEALTHY, details)


def register_socket_path_check() -> None:
    from pggit_project.health import DEGRADED, register_check

    register_check("channel_layer", on_failure=DEGRADED)(socket_path_check)
