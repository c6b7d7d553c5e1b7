"""Fixtures of the webhook tests: a local receiver, fast retry settings, endpoints, events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from psycopg.types.json import Jsonb

from tests.webhooks.receiver import Receiver
from webhooks import services, targets

FAST_SCHEDULE = [0.2, 0.2, 0.2]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def webhook_settings(settings):
    """Private targets allowed (the receiver is on 127.0.0.1), quick retries, no jitter."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_SCHEDULE = FAST_SCHEDULE
    settings.WEBHOOK_RETRY_JITTER = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    return settings


def _truncate_webhook_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE pggit.webhook_endpoints, pggit.webhook_deliveries, pggit.webhook_attempts,"
            " pggit.webhook_workers"
        )


@pytest.fixture
def clean_webhook_tables(transactional_db) -> Iterator[None]:
    """Transactional tests commit, and Django's flush only empties the tables of managed models:
    the pggit webhook tables are emptied before the test (other apps' transactional tests may
    leave endpoints behind, whose deliveries a worker here would try to send) and after it."""
    _truncate_webhook_tables()
    yield
    _truncate_webhook_tables()


@pytest.fixture
def resolver() -> Iterator[dict[str, list[str]]]:
    """Names the tests make up, resolved by a table (``targets.set_resolver``) instead of DNS;
    a name missing from the table does not resolve."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host} does not resolve")
        return list(table[host])

    previous = targets.set_resolver(resolve)
    yield table
    targets.set_resolver(previous)


def create_endpoint(url: str, *, event_types: list[str] | None = None, name: str = "receiver"):
    return services.webhook_create(name=name, url=url, event_types=event_types or ["*"])


def emit(event_type: str, data: dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pggit.emit_event(%s, %s)", [event_type, Jsonb(data or {})])
        return cursor.fetchone()[0]
