"""The fair claim (pggit.webhook_claim, sql/engine/webhooks/webhooks.sql): due deliveries are
handed out in turns across endpoints, each endpoint within its share of the batch and its cap of
attempts in flight."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from webhooks import services

URL = "https://hooks.example.com/x"

pytestmark = pytest.mark.django_db


def endpoint(name: str, event_type: str) -> int:
    return services.webhook_create(name=name, url=URL, event_types=[event_type]).endpoint.pk


def due(endpoint_id: int, count: int) -> list[int]:
    """``count`` deliveries to the endpoint, due one second apart (oldest first); their ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pggit.webhook_deliveries (endpoint_id, event_id, event_type, payload,"
            " next_attempt_at)"
            " SELECT %s, pggit.emit_event('test.nobody', '{}'), 'test.nobody', '{}',"
            " now() - interval '1 hour' + g * interval '1 second'"
            " FROM generate_series(1, %s) g ORDER BY g RETURNING id",
            [endpoint_id, count],
        )
        return [row[0] for row in cursor.fetchall()]


def claim(limit: int, per_endpoint: int | None = None, worker: str = "w") -> list[tuple[int, int]]:
    """(endpoint id, delivery id) of what one claim hands out, in the claim's order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT endpoint_id, delivery_id FROM pggit.webhook_claim(%s, %s, 30, %s)",
            [worker, limit, per_endpoint],
        )
        return cursor.fetchall()


def test_a_delivery_to_an_endpoint_without_backlog_is_not_queued_behind_another_backlog():
    backlog, quiet = endpoint("backlog", "commit.created"), endpoint("quiet", "branch.created")
    old = due(backlog, 50)
    [new] = due(quiet, 1)  # due last of all
    with connection.cursor() as cursor:  # the quiet one's delivery is the newest
        cursor.execute("UPDATE pggit.webhook_deliveries SET next_attempt_at = now() WHERE id = %s",
                       [new])  # fmt: skip
    assert claim(3) == [(backlog, old[0]), (backlog, old[1]), (quiet, new)]


def test_each_endpoint_takes_its_turn_oldest_first():
    a, b, c = (endpoint(n, "commit.created") for n in ("a", "b", "c"))
    rows = {e: due(e, 3) for e in (a, b, c)}
    # the same due times at each endpoint (ties go by id): one of each first, then a's second
    claimed = claim(4)
    assert sorted(claimed) == sorted([(a, rows[a][0]), (b, rows[b][0]), (c, rows[c][0]),
                                      (a, rows[a][1])])  # fmt: skip
    # the rest, in the next claims
    assert sorted(claim(10)) == sorted(
        [(b, rows[b][1]), (c, rows[c][1]), (a, rows[a][2]), (b, rows[b][2]), (c, rows[c][2])]
    )
    assert claim(10) == []


def test_an_endpoint_at_its_cap_gets_nothing_more_until_its_attempts_end():
    busy, other = endpoint("busy", "commit.created"), endpoint("other", "branch.created")
    rows = due(busy, 5)
    assert claim(10, per_endpoint=2) == [(busy, rows[0]), (busy, rows[1])]
    # two in flight (their leases run): nothing more for that endpoint, by any worker
    assert claim(10, per_endpoint=2, worker="w2") == []
    [later] = due(other, 1)
    assert claim(10, per_endpoint=2, worker="w2") == [(other, later)]
    # one attempt ends (recorded as a retry, due in an hour): one more may go
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET status = 'pending',"
            " next_attempt_at = now() + interval '1 hour' WHERE id = %s",
            [rows[0]],
        )
    assert claim(10, per_endpoint=2) == [(busy, rows[2])]
    # a lease that ran out no longer counts: its delivery is due again, with the others
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET next_attempt_at = now() - interval '2 hours'"
            " WHERE id = %s",
            [rows[1]],
        )
    assert claim(10, per_endpoint=2) == [(busy, rows[1])]


def test_without_a_cap_one_endpoint_may_take_the_whole_batch():
    only = endpoint("only", "commit.created")
    rows = due(only, 5)
    assert claim(10) == [(only, r) for r in rows]


def test_inactive_endpoints_and_deliveries_not_yet_due_are_not_claimed():
    active, inactive = endpoint("active", "commit.created"), endpoint("off", "commit.created")
    due(inactive, 2)
    services.webhook_disable(endpoint_id=inactive)
    [soon] = due(active, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET next_attempt_at = now() + interval '1 min'"
            " WHERE id = %s",
            [soon],
        )
    assert claim(10, per_endpoint=5) == []


def test_the_worker_refuses_a_negative_cap(capsys):
    with pytest.raises(SystemExit) as excinfo:
        call_command("deliver_webhooks", "--per-endpoint", "-1")
    assert excinfo.value.code == 2
    assert "--per-endpoint must be 0 (no cap) or more" in capsys.readouterr().err


def fail(endpoint_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_endpoints SET consecutive_failures = 3 WHERE id = %s",
            [endpoint_id],
        )


def test_an_endpoint_whose_last_attempt_failed_has_one_attempt_in_flight_at_a_time():
    down = endpoint("down", "commit.created")
    rows = due(down, 3)
    fail(down)
    assert claim(10, per_endpoint=5) == [(down, rows[0])]
    assert claim(10, per_endpoint=5) == []  # its probe is in flight
    with connection.cursor() as cursor:  # the probe failed again: due later
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET status = 'pending',"
            " next_attempt_at = now() + interval '1 hour' WHERE id = %s",
            [rows[0]],
        )
    assert claim(10, per_endpoint=5) == [(down, rows[1])]


def test_a_healthy_endpoint_goes_before_a_failing_one_with_older_deliveries():
    down, healthy = endpoint("down", "commit.created"), endpoint("up", "branch.created")
    fail(down)
    [old] = due(down, 1)
    newer = due(healthy, 10)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_deliveries SET next_attempt_at = now() WHERE endpoint_id = %s",
            [healthy],
        )
    # seven of the healthy endpoint's first, then (at turn 8) the failing one's probe, older than
    # the healthy endpoint's eighth; handed out in id order
    assert claim(8) == [(down, old)] + [(healthy, r) for r in newer[:7]]
