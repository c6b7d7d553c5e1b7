"""Writes of the alerts app: each calls one SQL function of the engine (sql/engine/monitoring,
sql/engine/alerts) in its own transaction, with the acting console user, and maps engine errors to
the domain error."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from alerts.choices import Severity
from alerts.constants import MAX_BIGINT, TEST_ALERT_SOURCE
from alerts.models import Alert, AlertSilence, PerformanceBaseline
from alerts.selectors import json_value
from pggit_project.engine import engine_cursor


def _call(query: str, params: Sequence[Any], *, actor: str | None = None) -> list[tuple]:
    """Runs one engine call (engine errors become EngineError, pggit_project.errors)."""
    with engine_cursor(actor=actor) as cursor:
        cursor.execute(query, list(params))
        return cursor.fetchall() if cursor.description else []


def _alert(alert_id: int) -> Alert:
    return Alert.objects.get(pk=alert_id)


def alert_raise(
    *,
    fingerprint: str,
    source: str,
    severity: str,
    title: str,
    message: str = "",
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> Alert:
    """Raises (or re-raises) the alert of ``fingerprint``; see pggit.alert_raise."""
    rows = _call(
        "SELECT (pggit.alert_raise(%s, %s, %s, %s, %s, %s::jsonb)).id",
        [fingerprint, source, severity, title, message, json.dumps(details or {})],
        actor=actor,
    )
    return _alert(rows[0][0])


def alert_fire_test(*, actor: str) -> Alert:
    """Fires an ``info`` alert of source ``test`` through the whole pipeline (outbox, WebSockets,
    webhooks). Each call is a new alert (its own fingerprint), so every test is announced."""
    return alert_raise(
        fingerprint=f"test:{uuid.uuid4()}",
        source=TEST_ALERT_SOURCE,
        severity=Severity.INFO,
        title="Test alert",
        message=f"A test alert fired by {actor} to check the alert pipeline.",
        details={"requested_by": actor},
        actor=actor,
    )


def alert_acknowledge(*, alert_id: int, actor: str, note: str | None = None) -> Alert:
    """firing | silenced → acknowledged; 404 unknown id, 409 already acknowledged or resolved."""
    _call("SELECT pggit.alert_acknowledge(%s, %s, %s)", [alert_id, actor, note], actor=actor)
    return _alert(alert_id)


def alert_resolve(*, alert_id: int, actor: str, note: str | None = None) -> Alert:
    """firing | acknowledged | silenced → resolved; 404 unknown id, 409 already resolved."""
    _call("SELECT pggit.alert_resolve(%s, %s, %s)", [alert_id, actor, note], actor=actor)
    return _alert(alert_id)


@dataclass
class BatchAcknowledgement:
    """Outcome of a batch acknowledge, one list per outcome (ids ascending)."""

    acknowledged: list[int] = field(default_factory=list)
    already_acknowledged: list[int] = field(default_factory=list)
    not_acknowledgeable: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "not_found": self.not_found,
            "acknowledged_count": len(self.acknowledged),
            "already_acknowledged": self.already_acknowledged,
            "not_acknowledgeable": self.not_acknowledgeable,
        }


_OUTCOME_LISTS = {
    "acknowledged": "acknowledged",
    "already_acknowledged": "already_acknowledged",
    "resolved": "not_acknowledgeable",
    "not_found": "not_found",
}


def alert_acknowledge_many(
    *, alert_ids: Iterable[int], actor: str, note: str | None = None
) -> BatchAcknowledgement:
    """Acknowledges every acknowledgeable id; unknown ids (including integers no alert id can be:
    below 1 or beyond bigint) are reported in ``not_found``, not an error."""
    distinct = set(alert_ids)
    storable = sorted(i for i in distinct if 1 <= i <= MAX_BIGINT)
    rows = _call(
        "SELECT alert_id, outcome FROM pggit.alert_acknowledge_many(%s::bigint[], %s, %s)",
        [storable, actor, note],
        actor=actor,
    )
    result = BatchAcknowledgement()
    for alert_id, outcome in rows:
        getattr(result, _OUTCOME_LISTS[outcome]).append(alert_id)
    result.not_found = sorted([*result.not_found, *distinct.difference(storable)])
    return result


def alerts_resolve_many(*, alert_ids: Iterable[int], actor: str, note: str | None = None) -> int:
    """Resolves the open alerts among ``alert_ids`` (admin bulk action); returns how many."""
    resolved = 0
    open_alerts = Alert.objects.filter(pk__in=list(alert_ids)).exclude(status="resolved")
    for alert_id in open_alerts.order_by("id").values_list("pk", flat=True):
        alert_resolve(alert_id=alert_id, actor=actor, note=note)
        resolved += 1
    return resolved


def alert_silence_create(
    *,
    matchers: list[dict[str, str]],
    ends_at: datetime,
    actor: str,
    comment: str = "",
    starts_at: datetime | None = None,
) -> AlertSilence:
    """Creates a silence; firing alerts it matches become silenced at once."""
    rows = _call(
        "SELECT (pggit.alert_silence_create(%s::jsonb, %s, %s, %s, %s)).id",
        [json.dumps(matchers), ends_at, comment, actor, starts_at],
        actor=actor,
    )
    return AlertSilence.objects.get(pk=rows[0][0])


def alert_silence_update(
    *,
    silence_id: int,
    actor: str,
    matchers: list[dict[str, str]] | None = None,
    ends_at: datetime | None = None,
    comment: str | None = None,
    starts_at: datetime | None = None,
) -> AlertSilence:
    """Changes a silence (None keeps a value); alerts it no longer covers fire again."""
    _call(
        "SELECT pggit.alert_silence_update(%s, %s::jsonb, %s, %s, %s)",
        [
            silence_id,
            None if matchers is None else json.dumps(matchers),
            ends_at,
            comment,
            starts_at,
        ],
        actor=actor,
    )
    return AlertSilence.objects.get(pk=silence_id)


def alert_silence_delete(*, silence_id: int, actor: str) -> None:
    """Deletes a silence; the alerts it silenced fire again (and are announced)."""
    _call("SELECT pggit.alert_silence_delete(%s)", [silence_id], actor=actor)


def alerts_silence_for(
    *, alert_ids: Iterable[int], duration: timedelta, actor: str, comment: str
) -> list[AlertSilence]:
    """One silence per selected open alert, matching its fingerprint (admin bulk action)."""
    silences = []
    ends_at = timezone.now() + duration
    fingerprints = (
        Alert.objects.filter(pk__in=list(alert_ids))
        .exclude(status="resolved")
        .order_by("id")
        .values_list("fingerprint", flat=True)
    )
    for fingerprint in fingerprints:
        matchers = [{"name": "fingerprint", "op": "=", "value": fingerprint}]
        silences.append(
            alert_silence_create(matchers=matchers, ends_at=ends_at, actor=actor, comment=comment)
        )
    return silences


def baselines_recalculate(
    *, window: timedelta | None = None, actor: str | None = None
) -> list[PerformanceBaseline]:
    """Recomputes every baseline (default window: configuration perf_baseline_window)."""
    _call("SELECT count(*) FROM pggit.perf_baselines_recalculate(%s)", [window], actor=actor)
    return list(PerformanceBaseline.objects.order_by("operation"))


def monitoring_evaluate(*, actor: str | None = None) -> dict[str, Any]:
    """The periodic evaluation: anomaly detection, automatic resolution, silence changes."""
    rows = _call("SELECT pggit.monitoring_evaluate()", [], actor=actor)
    return json_value(rows[0][0])
