"""Writes of the webhooks app: ``<entity>_<action>`` functions owning their transaction.

Endpoints live in ``pggit.webhook_endpoints`` (unmanaged model): every write here is SQL with bound
parameters or a call to a function of sql/engine/webhooks/webhooks.sql. Secrets are generated and
encrypted here; the plain secret is returned only by ``webhook_create`` and
``webhook_rotate_secret``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from pggit_project.engine import engine_cursor, engine_errors
from pggit_project.errors import DomainError
from webhooks.conf import save_check_settings, webhook_settings
from webhooks.constants import ALL_EVENTS, EVENT_TYPES
from webhooks.crypto import (
    secret_encrypt,
    secret_generate,
    secret_hint,
    secret_is_valid,
    secret_reencrypt,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.targets import TargetRefused, check_url_on_save

UPDATABLE_FIELDS = ("name", "url", "description", "is_active", "event_types")
SECRET_FORMAT = "A secret is whsec_ followed by base64 of 24 to 64 bytes."  # noqa: S105 (a message)


class WebhookNotFound(DomainError):
    status = 404
    code = "webhook_not_found"


class WebhookInvalid(DomainError):
    status = 400
    code = "invalid"


class WebhookConflict(DomainError):
    status = 409
    code = "webhook_disabled"


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str


def _invalid(field: str, message: str) -> WebhookInvalid:
    return WebhookInvalid("Invalid input.", errors={field: [message]})


@contextlib.contextmanager
def _statement_cursor() -> Iterator[Any]:
    """A cursor for one statement outside any transaction block (autocommit: the statement is its
    own transaction, without the ``BEGIN`` and ``COMMIT`` round trips of ``engine_cursor``);
    engine errors raised as ``engine_errors`` raises them."""
    with engine_errors(), connection.cursor() as cursor:
        yield cursor


def _give_back_connection() -> None:
    """Before waiting for a name lookup: hand this thread's database connection back to the pool
    (unless a transaction is open), so that a slow resolver never holds one (the next query takes
    one again)."""
    if not connection.in_atomic_block:
        connection.close()


def webhook_validate_url(*, url: str) -> None:
    """Raise a 400 when ``url`` may not be a webhook target (docs/api.md rules, checked on save; a
    host name within WEBHOOK_SAVE_RESOLVE_SECONDS, see webhooks.targets)."""
    allow_private, lookup_seconds = save_check_settings()
    try:
        check_url_on_save(
            url,
            allow_private=allow_private,
            lookup_seconds=lookup_seconds,
            before_lookup=_give_back_connection,
        )
    except TargetRefused as exc:
        raise _invalid("url", str(exc)) from None


def webhook_validate_event_types(*, event_types: list[str]) -> list[str]:
    """The event types without duplicates, in the given order; unknown ones are a 400."""
    if not event_types:
        raise _invalid("event_types", 'Give at least one event type, or ["*"] for all.')
    unknown = [name for name in event_types if name != ALL_EVENTS and name not in EVENT_TYPES]
    if unknown:
        raise _invalid("event_types", f"Unknown event types: {', '.join(sorted(set(unknown)))}.")
    return list(dict.fromkeys(event_types))


def _get(endpoint_id: int) -> WebhookEndpoint:
    try:
        return WebhookEndpoint.objects.get(pk=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise WebhookNotFound(f"No webhook {endpoint_id}.") from None


def webhook_create(
    *,
    name: str,
    url: str,
    event_types: list[str],
    description: str = "",
    is_active: bool = True,
    secret: str | None = None,
    actor: str | None = None,
    checked_url: str | None = None,
) -> EndpointWithSecret:
    """Create an endpoint with a new signing secret (returned once, here): generated, or the
    given ``whsec_`` secret (the admin lets an operator bring one). ``checked_url``: the URL on
    which the caller has just run ``webhook_validate_url`` (the API's input serializer does, to
    report it with the other fields' errors); when it is exactly ``url``, ``url`` is not checked
    (for a host name: looked up) a second time; any other value leaves the check to run."""
    if checked_url is None or checked_url != url:
        webhook_validate_url(url=url)
    event_types = webhook_validate_event_types(event_types=event_types)
    if secret is None:
        secret = secret_generate()
    elif not secret_is_valid(secret):
        raise _invalid("secret", SECRET_FORMAT)
    params = [
        name,
        url,
        description,
        is_active,
        event_types,
        secret_encrypt(secret),
        secret_hint(secret),
    ]
    # The new row as the ORM reads it, from the INSERT itself: no second round trip to read it
    # back (the table's trigger only announces the change).
    insert, insert_as_actor, attnames, converters = _endpoint_insert()
    if connection.in_atomic_block:
        # inside the caller's transaction: a savepoint of its own, as every engine write
        with engine_cursor(actor=actor) as cursor:
            cursor.execute(insert, params)
            values = list(cursor.fetchone())
    else:
        # One statement in autocommit is its own transaction: the actor (local to it, set by
        # the statement before any row is inserted) and the row in one round trip, where
        # BEGIN, set_config, INSERT and COMMIT took four.
        with _statement_cursor() as cursor:
            if actor:
                cursor.execute(insert_as_actor, [actor, *params])
            else:
                cursor.execute(insert, params)
            values = list(cursor.fetchone())
    for position, column, column_converters in converters:
        for converter in column_converters:
            values[position] = converter(values[position], column, connection)
    endpoint = WebhookEndpoint.from_db(connection.alias, attnames, values)
    return EndpointWithSecret(endpoint, secret)


@functools.cache
def _endpoint_insert() -> tuple[str, str, list[str], list[tuple[int, Any, list]]]:
    """The ``INSERT`` of a new endpoint and how the row it returns becomes the instance the ORM
    makes of it (what ``objects.raw(...)`` gave, without its mapping of result columns to fields
    on every call): the statement (``RETURNING`` every column, in field order), the same
    statement setting ``pggit.actor`` first (its first parameter; see below), the attribute
    names for ``from_db``, and per column with any the converters ``SQLCompiler.get_converters``
    applies (the backend's, then the field's; they take the connection as an argument).

    The second statement takes its row from a materialized CTE that calls ``set_config``
    (local to the transaction, as ``engine_cursor`` sets it) and whose value the row's ``WHERE``
    reads: the setting is made before the row exists, so defaults, constraints and row triggers
    see the actor, and it ends with the statement's transaction. A ``BEFORE ... FOR EACH
    STATEMENT`` trigger on the table would not: PostgreSQL fires it before it reads the CTE (the
    table has none; one that needs the actor must read it per row, or this path must go)."""
    fields = WebhookEndpoint._meta.concrete_fields
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(WebhookEndpoint._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((position, column, found))
    returning = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    columns = "(name, url, description, is_active, event_types, secret_encrypted, secret_hint)"
    insert = (
        f"INSERT INTO pggit.webhook_endpoints {columns}"  # noqa: S608 (names from the model's metadata)
        f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {returning}"
    )
    insert_as_actor = (
        "WITH actor AS MATERIALIZED"  # noqa: S608 (names from the model's metadata)
        " (SELECT pg_catalog.set_config('pggit.actor', %s, true) AS actor)"
        f" INSERT INTO pggit.webhook_endpoints {columns}"
        " SELECT %s::text, %s::text, %s::text, %s::boolean, %s::text[], %s::bytea, %s::text"
        f" FROM actor WHERE actor.actor IS NOT NULL RETURNING {returning}"
    )
    return insert, insert_as_actor, [field.attname for field in fields], converters


def _validated_changes(changes: dict[str, Any], *, checked_url: str | None) -> dict[str, Any]:
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise _invalid(sorted(unknown)[0], "This field cannot be changed.")
    changes = dict(changes)
    if "url" in changes and (checked_url is None or changes["url"] != checked_url):
        webhook_validate_url(url=changes["url"])
    if "event_types" in changes:
        changes["event_types"] = webhook_validate_event_types(event_types=changes["event_types"])
    return changes


def webhook_update(
    *,
    endpoint_id: int,
    changes: dict[str, Any],
    actor: str | None = None,
    checked_url: str | None = None,
) -> WebhookEndpoint:
    """Change the given fields only (PUT and PATCH are both partial).

    Enabling clears the failure streak and the disabled reason; disabling goes through
    ``pggit.webhook_endpoint_disable`` (queued deliveries cancelled, event emitted).
    ``checked_url`` as for ``webhook_create`` (the check skipped only for that new URL).
    """
    changes = _validated_changes(changes, checked_url=checked_url)
    activate = changes.pop("is_active", None)
    with engine_cursor(actor=actor) as cursor:
        cursor.execute(
            "SELECT is_active FROM pggit.webhook_endpoints WHERE id = %s FOR UPDATE", [endpoint_id]
        )
        row = cursor.fetchone()
        if row is None:
            raise WebhookNotFound(f"No webhook {endpoint_id}.")
        if changes:
            assignments = ", ".join(f"{field} = %s" for field in changes)
            cursor.execute(
                f"UPDATE pggit.webhook_endpoints SET {assignments}, updated_at = now()"  # noqa: S608 (field names from UPDATABLE_FIELDS)
                " WHERE id = %s",
                [*changes.values(), endpoint_id],
            )
        if activate is True and not row[0]:
            cursor.execute(
                "UPDATE pggit.webhook_endpoints SET is_active = true, disabled_reason = NULL,"
                " consecutive_failures = 0, failing_since = NULL, updated_at = now()"
                " WHERE id = %s",
                [endpoint_id],
            )
        if activate is False and row[0]:
            cursor.execute(
                "SELECT pggit.webhook_endpoint_disable(%s, %s)",
                [endpoint_id, f"disabled by {actor or 'an operator'}"],
            )
    return _get(endpoint_id)


def webhook_enable(*, endpoint_id: int, actor: str | None = None) -> WebhookEndpoint:
    return webhook_update(endpoint_id=endpoint_id, changes={"is_active": True}, actor=actor)


def webhook_disable(*, endpoint_id: int, actor: str | None = None) -> WebhookEndpoint:
    return webhook_update(endpoint_id=endpoint_id, changes={"is_active": False}, actor=actor)


def webhook_delete(*, endpoint_id: int, actor: str | None = None) -> None:
    """Delete the endpoint with its deliveries and attempts."""
    with engine_cursor(actor=actor) as cursor:
        cursor.execute("DELETE FROM pggit.webhook_endpoints WHERE id = %s", [endpoint_id])
        if cursor.rowcount == 0:
            raise WebhookNotFound(f"No webhook {endpoint_id}.")


def webhook_rotate_secret(
    *, endpoint_id: int, secret: str | None = None, actor: str | None = None
) -> EndpointWithSecret:
    """A new secret (generated, or the given ``whsec_`` secret); the previous one keeps signing
    (a second signature) for the overlap window."""
    if secret is None:
        secret = secret_generate()
    elif not secret_is_valid(secret):
        raise _invalid("secret", SECRET_FORMAT)
    expires_at = timezone.now() + webhook_settings().secret_overlap
    with engine_cursor(actor=actor) as cursor:
        cursor.execute(
            "UPDATE pggit.webhook_endpoints"
            " SET previous_secret_encrypted = secret_encrypted,"
            "     previous_secret_expires_at = %s,"
            "     secret_encrypted = %s, secret_hint = %s, updated_at = now()"
            " WHERE id = %s",
            [expires_at, secret_encrypt(secret), secret_hint(secret), endpoint_id],
        )
        if cursor.rowcount == 0:
            raise WebhookNotFound(f"No webhook {endpoint_id}.")
    return EndpointWithSecret(_get(endpoint_id), secret)


def webhook_send_test(*, endpoint_id: int, actor: str | None = None) -> WebhookDelivery:
    """Emit a ``webhook.test`` event; the fan-out routes it to this endpoint only."""
    with engine_cursor(actor=actor) as cursor:
        cursor.execute(
            "SELECT is_active FROM pggit.webhook_endpoints WHERE id = %s FOR SHARE", [endpoint_id]
        )
        row = cursor.fetchone()
        if row is None:
            raise WebhookNotFound(f"No webhook {endpoint_id}.")
        if not row[0]:
            raise WebhookConflict(f"Webhook {endpoint_id} is disabled; enable it to send a test.")
        cursor.execute(
            "SELECT pggit.emit_event('webhook.test', jsonb_build_object("
            "'webhook_id', %s::bigint, 'message', 'Test event from pgGit'))",
            [endpoint_id],
        )
        event_id = cursor.fetchone()[0]
    return WebhookDelivery.objects.get(endpoint_id=endpoint_id, event_id=event_id)


def delivery_redeliver(*, delivery_id: int, actor: str | None = None) -> WebhookDelivery:
    """Queue the delivery again now (same event, same ``webhook-id``)."""
    with engine_cursor(actor=actor) as cursor:
        cursor.execute("SELECT pggit.webhook_requeue(%s)", [delivery_id])
    return WebhookDelivery.objects.get(pk=delivery_id)


def webhook_replay(*, endpoint_id: int, since: datetime, actor: str | None = None) -> int:
    """Queue again the endpoint's failed and cancelled deliveries created since ``since``."""
    with engine_cursor(actor=actor) as cursor:
        cursor.execute("SELECT pggit.webhook_replay(%s, %s)", [endpoint_id, since])
        return int(cursor.fetchone()[0])


def webhook_reencrypt_secrets() -> int:
    """Re-encrypt every stored secret with the newest ``WEBHOOK_ENCRYPTION_KEY``; how many."""
    count = 0
    with engine_cursor() as cursor:
        cursor.execute(
            "SELECT id, secret_encrypted, previous_secret_encrypted"
            " FROM pggit.webhook_endpoints ORDER BY id FOR UPDATE"
        )
        for endpoint_id, current, previous in cursor.fetchall():
            cursor.execute(
                "UPDATE pggit.webhook_endpoints"
                " SET secret_encrypted = %s, previous_secret_encrypted = %s WHERE id = %s",
                [secret_reencrypt(current), previous and secret_reencrypt(previous), endpoint_id],
            )
            count += 1
    return count
