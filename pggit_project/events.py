"""The event stream's consumers: a registry the event listener (``manage.py pggit_listen``) calls.

Every state change of interest is appended to the outbox ``pggit.events`` in the transaction that
makes it, and announced with ``pg_notify('pggit_events', <event id>)``. The listener reads each
announced event once and hands it to every registered handler. An app registers its handler in its
``AppConfig.ready``::

    from pggit_project.events import register_event_handler

    register_event_handler("cache", handle=apply_events, resync=forget_everything)

``handle(events)`` receives events in id order. ``resync()`` is called whenever the listener may
have missed notifications (it became the leader, or it reconnected): a handler that cannot catch up
from the outbox alone does what makes it safe again there. A failing handler is logged and does not
stop the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "pggit_events"

# Every event type of the outbox (docs/realtime.md): the WebSocket topics and the webhook types.
EVENT_TYPES = (
    "ddl.captured",
    "commit.created",
    "branch.created",
    "branch.deleted",
    "branch.checked_out",
    "merge.completed",
    "merge.conflicted",
    "merge.aborted",
    "revert.completed",
    "alert.fired",
    "alert.acknowledged",
    "alert.resolved",
    "webhook.endpoint_disabled",
    "webhook.test",
)


@dataclass(frozen=True)
class Event:
    """One row of the outbox ``pggit.events``."""

    id: int
    type: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def envelope(self) -> dict[str, Any]:
        """``{"id", "type", "occurred_at", "data"}``, as ``pggit.event_envelope`` writes it."""
        occurred_at = self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
        # Django's connection settings load jsonb as text: the listener's rows carry it so
        data = json.loads(self.data) if isinstance(self.data, str) else self.data
        return {"id": self.id, "type": self.type, "occurred_at": occurred_at, "data": data}


@dataclass(frozen=True)
class EventHandler:
    name: str
    handle: Callable[[list[Event]], None]
    resync: Callable[[], None] | None = None
    close: Callable[[], None] | None = None


_handlers: dict[str, EventHandler] = {}
# Other NOTIFY channels the listener follows, e.g. ``pggit_cache`` (change announcements that are
# not outbox events): channel -> handle(payload).
_channel_handlers: dict[str, Callable[[str], None]] = {}


def register_event_handler(
    name: str,
    *,
    handle: Callable[[list[Event]], None],
    resync: Callable[[], None] | None = None,
    close: Callable[[], None] | None = None,
) -> None:
    """Register (or replace) the handler ``name``; ``close`` releases what it holds (called when
    the listener stops)."""
    _handlers[name] = EventHandler(name=name, handle=handle, resync=resync, close=close)


def register_channel_handler(channel: str, handle: Callable[[str], None]) -> None:
    """Also LISTEN on ``channel`` and pass each notification's payload to ``handle``."""
    _channel_handlers[channel] = handle


def registered_channels() -> tuple[str, ...]:
    return tuple(_channel_handlers)


def dispatch_channel_message(channel: str, payload: str) -> None:
    handle = _channel_handlers.get(channel)
    if handle is None:
        return
    try:
        handle(payload)
    except Exception:
        logger.exception("handler of channel %s failed", channel)


def registered_event_handlers() -> list[EventHandler]:
    return list(_handlers.values())


def dispatch_events(events: list[Event], handlers: Iterable[EventHandler] | None = None) -> None:
    """Hand ``events`` to every handler; one handler's failure is logged, not propagated."""
    if not events:
        return
    for handler in registered_event_handlers() if handlers is None else handlers:
        try:
            handler.handle(events)
        except Exception:
            logger.exception(
                "event handler %s failed on events %s..%s",
                handler.name,
                events[0].id,
                events[-1].id,
            )


def resync_handlers(handlers: Iterable[EventHandler] | None = None) -> None:
    for handler in registered_event_handlers() if handlers is None else handlers:
        if handler.resync is None:
            continue
        try:
            handler.resync()
        except Exception:
            logger.exception("event handler %s failed to resync", handler.name)


def close_handlers(handlers: Iterable[EventHandler] | None = None) -> None:
    for handler in registered_event_handlers() if handlers is None else handlers:
        if handler.close is None:
            continue
        try:
            handler.close()
        except Exception:
            logger.exception("event handler %s failed to close", handler.name)
