"""The live operations page (``/admin/live/``) for logged-in staff, linked from the admin index.

The page shows HEAD and the working changes, the stream of schema events, the open alerts (with
acknowledge and resolve) and charts of operation timings. It opens ``/ws`` with the session
cookie, subscribes to the topics the user may read, and on each event updates itself: the event
joins the stream, and a change of the schema, of HEAD or of an alert refetches ``state`` (this
module's JSON). A dropped socket reconnects by itself with ``?since=<last event id seen>``, so
nothing is missed. See docs/realtime.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, re_path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alerts import selectors, services
from alerts.choices import OPEN_STATUSES
from alerts.models import Alert
from pggit_project import realtime
from pggit_project.engine import engine_status_page, fetch_all
from pggit_project.errors import body_for_status, error_for_exception, error_response
from pggit_project.events import EVENT_TYPES

OPEN_ALERTS_SHOWN = 50
WORKING_CHANGES_SHOWN = 50
RECENT_EVENTS_SHOWN = 50
TIMINGS_WINDOW = timedelta(hours=6)
TIMINGS_BUCKET = timedelta(minutes=5)

ALERTS_PERMISSION = "alerts.view_alert"
OPERATE_ALERTS_PERMISSION = "alerts.change_alert"
OUTBOX_PERMISSION = realtime.OUTBOX_PERMISSION
TIMINGS_PERMISSION = "alerts.view_operationrecord"


def readable_topics(user) -> list[str]:
    return [topic for topic in EVENT_TYPES if user.has_perm(realtime.topic_permission(topic))]


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "severity": alert.severity,
        "status": alert.status,
        "source": alert.source,
        "title": alert.title,
        "occurrences": alert.occurrences,
        "last_seen_at": alert.last_seen_at,
        "acknowledged_by": alert.acknowledged_by,
    }


def live_state(user) -> dict[str, Any]:
    """What the page shows, for ``user``: a section the user may not read is ``None``."""
    state: dict[str, Any] = {"generated_at": timezone.now()}
    topics = readable_topics(user)
    last = fetch_all(
        "SELECT coalesce(max(id), 0) AS id FROM pggit.events WHERE type = ANY(%s)", [topics]
    )
    state["last_event_id"] = last[0]["id"] if topics else 0
    if user.has_perm(OUTBOX_PERMISSION):
        state["status"] = engine_status_page(WORKING_CHANGES_SHOWN)
    else:
        state["status"] = None
    rows = fetch_all(
        "SELECT pggit.event_envelope(e) AS envelope FROM pggit.events e"
        " WHERE e.type = ANY(%s) ORDER BY e.id DESC LIMIT %s",
        [topics, RECENT_EVENTS_SHOWN],
    )
    state["events"] = [row["envelope"] for row in reversed(rows)]
    if user.has_perm(ALERTS_PERMISSION):
        open_alerts = selectors.alert_queryset().filter(status__in=OPEN_STATUSES)
        state["alerts"] = [_alert_row(alert) for alert in open_alerts[:OPEN_ALERTS_SHOWN]]
    else:
        state["alerts"] = None
    if user.has_perm(TIMINGS_PERMISSION):
        since = timezone.now() - TIMINGS_WINDOW
        state["timings"] = {
            "window_hours": TIMINGS_WINDOW.total_seconds() / 3600,
            "bucket_minutes": TIMINGS_BUCKET.total_seconds() / 60,
            "summary": selectors.operation_summary(since=since),
            "trends": selectors.operation_trends(since=since, bucket=TIMINGS_BUCKET),
        }
    else:
        state["timings"] = None
    return state


def live_page(request):
    user = request.user
    config = {
        "socket_path": "/ws",
        "topics": readable_topics(user),
        "state_url": request.path.rstrip("/") + "/state",
        "alert_action_url": request.path.rstrip("/") + "/alerts/{id}/{action}",
        "can_operate_alerts": user.has_perm(OPERATE_ALERTS_PERMISSION),
        "heartbeat_seconds": settings.PGGIT_WS_HEARTBEAT_SECONDS,
    }
    context = {
        **admin.site.each_context(request),
        "title": "Live operations",
        "live_config": config,
        "live_state": live_state(user),
    }
    return TemplateResponse(request, "alerts/live.html", context)


def state_view(request):
    return JsonResponse(live_state(request.user), encoder=DjangoJSONEncoder)


def alert_action_view(request, alert_id: str, action: str):
    if not request.user.has_perm(OPERATE_ALERTS_PERMISSION):
        return error_response(body_for_status(403))
    change = {"acknowledge": services.alert_acknowledge, "resolve": services.alert_resolve}
    try:
        alert = change[action](alert_id=int(alert_id), actor=request.user.get_username())
    except Exception as exc:  # the engine's errors (unknown alert, already resolved) map to 4xx
        body = error_for_exception(exc)
        if body.status >= 500:
            raise
        return error_response(body)
    return JsonResponse({"alert": _alert_row(alert)}, encoder=DjangoJSONEncoder)


def _staff_only(view):
    """The admin's login redirect for pages; a 403 in the error shape for the JSON endpoints."""

    def wrapped(request, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("", admin.site.admin_view(require_GET(live_page)), name="live-operations"),
    path("state", _staff_only(require_GET(state_view)), name="live-operations-state"),
    re_path(
        r"^alerts/(?P<alert_id>[0-9]{1,18})/(?P<action>acknowledge|resolve)$",
        _staff_only(require_POST(alert_action_view)),
        name="live-operations-alert",
    ),
]
