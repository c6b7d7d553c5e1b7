"""Retry schedule, Retry-After parsing, signing helpers and secret encryption."""
# ruff: noqa: S311 (seeded generators make the jitter reproducible; nothing cryptographic)

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from standardwebhooks import Webhook

from webhooks.choices import AttemptOutcome
from webhooks.crypto import (
    SecretUnreadable,
    secret_decrypt,
    secret_encrypt,
    secret_generate,
    secret_reencrypt,
)
from webhooks.delivery.outcome import decide, parse_retry_after, retry_delay
from webhooks.signing import redacted, signed_headers

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def test_the_default_schedule_without_jitter():
    rng = random.Random(1)
    delays = [retry_delay(n, SCHEDULE, 0, rng) for n in range(1, 9)]

    assert delays == [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0, None]


def test_jitter_stays_within_its_fraction():
    rng = random.Random(7)
    delays = [retry_delay(2, SCHEDULE, 0.2, rng) for _ in range(500)]

    assert min(delays) >= 240.0
    assert max(delays) <= 360.0
    assert len(set(delays)) > 400


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Wed, 01 Jan 2025 12:01:00 GMT", 60.0),
        ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0),
        ("999999999", 86400.0),
        ("soon", None),
        ("²", None),
        ("١٢٠", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_decisions_per_status():
    def outcome(status, attempt=1, retry_after=None):
        return decide(
            status_code=status,
            retry_after=retry_after,
            round_attempts=attempt,
            schedule=SCHEDULE,
            jitter=0,
            now=NOW,
            rng=random.Random(0),
        )

    assert outcome(204).outcome == AttemptOutcome.DELIVERED
    assert outcome(410).outcome == AttemptOutcome.GONE
    assert outcome(500).next_attempt_at == NOW + timedelta(seconds=5)
    assert outcome(None, attempt=2).next_attempt_at == NOW + timedelta(seconds=300)
    assert outcome(429, retry_after="60").next_attempt_at == NOW + timedelta(seconds=60)
    assert outcome(500, retry_after="60").next_attempt_at == NOW + timedelta(seconds=5)
    assert outcome(500, attempt=8).outcome == AttemptOutcome.FAILED
    assert outcome(301).outcome == AttemptOutcome.RETRY


def test_signed_headers_verify_and_the_stored_copy_is_redacted():
    secret = secret_generate()
    timestamp = int(datetime.now(tz=UTC).timestamp())
    headers = signed_headers(msg_id="42", timestamp=timestamp, body='{"a":1}', secrets=[secret])

    assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}
    assert redacted(headers)["webhook-signature"] == "[redacted]"
    assert redacted(headers)["webhook-id"] == "42"


def test_secrets_round_trip_and_survive_a_key_rotation(settings):
    old_key = settings.WEBHOOK_ENCRYPTION_KEYS[0]
    token = secret_encrypt("whsec_abc")
    settings.WEBHOOK_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    rotated = secret_reencrypt(token)
    settings.WEBHOOK_ENCRYPTION_KEYS = settings.WEBHOOK_ENCRYPTION_KEYS[:1]

    assert secret_decrypt(rotated) == "whsec_abc"
    with pytest.raises(SecretUnreadable):
        secret_decrypt(token)


@pytest.mark.django_db
def test_reencrypt_command_moves_secrets_to_the_newest_key(settings):
    from io import StringIO

    from django.core.management import call_command

    from webhooks import services
    from webhooks.models import WebhookEndpoint

    old_key = settings.WEBHOOK_ENCRYPTION_KEYS[0]
    created = services.webhook_create(name="x", url="https://hooks.example.com/", event_types=["*"])
    settings.WEBHOOK_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    out = StringIO()

    call_command("webhook_reencrypt_secrets", stdout=out)
    settings.WEBHOOK_ENCRYPTION_KEYS = settings.WEBHOOK_ENCRYPTION_KEYS[:1]

    endpoint = WebhookEndpoint.objects.get(pk=created.endpoint.pk)
    assert secret_decrypt(endpoint.secret_encrypted) == created.secret
    assert out.getvalue() == "Re-encrypted the secrets of 1 webhook endpoint(s).\n"


def test_the_delivery_rules_default_to_api_md(settings):
    from webhooks.conf import webhook_settings

    for name in (
        "WEBHOOK_RETRY_SCHEDULE",
        "WEBHOOK_RETRY_JITTER",
        "WEBHOOK_TIMEOUT_SECONDS",
        "WEBHOOK_SECRET_OVERLAP_HOURS",
        "WEBHOOK_DISABLE_AFTER_DAYS",
    ):
        delattr(settings, name)

    rules = webhook_settings()

    assert rules.retry_schedule == SCHEDULE  # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    assert rules.retry_jitter == 0.2
    assert rules.timeout_seconds == 15
    assert rules.secret_overlap == timedelta(hours=24)
    assert rules.disable_after == timedelta(days=5)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEBHOOK_RETRY_SCHEDULE", ["5", "soon"], "WEBHOOK_RETRY_SCHEDULE must be numbers"),
        ("WEBHOOK_RETRY_SCHEDULE", ["-5"], "WEBHOOK_RETRY_SCHEDULE delays must not be negative."),
        ("WEBHOOK_RETRY_JITTER", "1", "WEBHOOK_RETRY_JITTER is a fraction below 1 (e.g. 0.2)."),
        ("WEBHOOK_TIMEOUT_SECONDS", "-1", "WEBHOOK_TIMEOUT_SECONDS must not be negative"),
        ("WEBHOOK_DISABLE_AFTER_DAYS", "five", "WEBHOOK_DISABLE_AFTER_DAYS must be a number"),
    ],
)
def test_a_bad_delivery_setting_is_a_configuration_error_naming_it(settings, name, value, message):
    from django.core.exceptions import ImproperlyConfigured

    from webhooks.conf import webhook_settings

    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured) as raised:
        webhook_settings()
    assert str(raised.value).startswith(message)
