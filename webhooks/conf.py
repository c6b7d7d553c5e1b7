"""The webhook settings, read from Django settings (which read them from the environment, see
``.env.example``) and validated when used.

- ``WEBHOOK_RETRY_SCHEDULE``: seconds between attempts after a failure (default 5 s, 5 min,
  30 min, 2 h, 5 h, 10 h, 10 h); when used up, the delivery fails.
- ``WEBHOOK_RETRY_JITTER``: each delay is scaled by a random factor in [1 - j, 1 + j].
- ``WEBHOOK_TIMEOUT_SECONDS``: the whole attempt (connect, send, answer) must fit in it.
- ``WEBHOOK_SAVE_RESOLVE_SECONDS``: how long saving an endpoint waits for its host name's
  addresses (``webhooks.targets.SaveLookups``); without an answer by then the URL is accepted and
  checked at delivery.
- ``WEBHOOK_SECRET_OVERLAP_HOURS``: how long a rotated-out secret keeps signing.
- ``WEBHOOK_DISABLE_AFTER_DAYS``: continuous failure after which an endpoint is disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_RETRY_JITTER = 0.2
DEFAULT_TIMEOUT_SECONDS = 15
DEFAULT_SAVE_RESOLVE_SECONDS = 0.5
DEFAULT_SECRET_OVERLAP_HOURS = 24
DEFAULT_DISABLE_AFTER_DAYS = 5


@dataclass(frozen=True)
class WebhookSettings:
    retry_schedule: tuple[float, ...]
    retry_jitter: float
    timeout_seconds: float
    save_resolve_seconds: float
    secret_overlap: timedelta
    disable_after: timedelta
    allow_private_targets: bool
    encryption_keys: tuple[str, ...]


def _number(name: str, default: object) -> float:
    value = getattr(settings, name, default)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number; got {value!r}.") from None
    if number < 0:
        raise ImproperlyConfigured(f"{name} must not be negative; got {value!r}.")
    return number


def _schedule() -> tuple[float, ...]:
    raw: Iterable[object] = getattr(settings, "WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)
    try:
        schedule = tuple(float(item) for item in raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImproperlyConfigured(
            f"WEBHOOK_RETRY_SCHEDULE must be numbers of seconds; got {raw!r}."
        ) from None
    if any(delay < 0 for delay in schedule):
        raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE delays must not be negative.")
    return schedule


def save_check_settings() -> tuple[bool, float]:
    """(``allow_private_targets``, ``save_resolve_seconds``): what a save-time URL check reads,
    validated as ``webhook_settings`` validates them, without building the other settings (every
    webhook save reads these)."""
    return (
        bool(settings.WEBHOOK_ALLOW_PRIVATE_TARGETS),
        _number("WEBHOOK_SAVE_RESOLVE_SECONDS", DEFAULT_SAVE_RESOLVE_SECONDS),
    )


def encryption_keys() -> tuple[str, ...]:
    """``WEBHOOK_ENCRYPTION_KEYS``, newest first (every secret encrypted or decrypted reads it)."""
    return tuple(settings.WEBHOOK_ENCRYPTION_KEYS)


def webhook_settings() -> WebhookSettings:
    """The current webhook settings (tests change them with pytest-django's ``settings``)."""
    jitter = _number("WEBHOOK_RETRY_JITTER", DEFAULT_RETRY_JITTER)
    if jitter >= 1:
        raise ImproperlyConfigured("WEBHOOK_RETRY_JITTER is a fraction below 1 (e.g. 0.2).")
    timeout = _number("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)
    allow_private_targets, save_resolve_seconds = save_check_settings()
    return WebhookSettings(
        retry_schedule=_schedule(),
        retry_jitter=jitter,
        timeout_seconds=timeout or DEFAULT_TIMEOUT_SECONDS,
        save_resolve_seconds=save_resolve_seconds,
        secret_overlap=timedelta(
            hours=_number("WEBHOOK_SECRET_OVERLAP_HOURS", DEFAULT_SECRET_OVERLAP_HOURS)
        ),
        disable_after=timedelta(
            days=_number("WEBHOOK_DISABLE_AFTER_DAYS", DEFAULT_DISABLE_AFTER_DAYS)
        ),
        allow_private_targets=allow_private_targets,
        encryption_keys=encryption_keys(),
    )
