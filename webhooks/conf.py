"""The webhook settings, read from Django settings (set from the environment in
``pggit_project/settings``) and validated once per use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_RETRY_JITTER = 0.2
DEFAULT_TIMEOUT_SECONDS = 15.0
DEFAULT_SECRET_OVERLAP_HOURS = 24
DEFAULT_DISABLE_AFTER_DAYS = 5


@dataclass(frozen=True)
class WebhookSettings:
    retry_schedule: tuple[float, ...]
    retry_jitter: float
    timeout_seconds: float
    secret_overlap: timedelta
    disable_after: timedelta
    allow_private_targets: bool
    encryption_keys: tuple[str, ...]


def _number(name: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number; got {value!r}.") from None
    if number < 0:
        raise ImproperlyConfigured(f"{name} must not be negative; got {value!r}.")
    return number


def webhook_settings() -> WebhookSettings:
    """The current webhook settings (tests change them with pytest-django's ``settings``)."""
    raw_schedule = getattr(settings, "WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)
    schedule = tuple(_number("WEBHOOK_RETRY_SCHEDULE", item) for item in raw_schedule)
    jitter = _number("WEBHOOK_RETRY_JITTER", getattr(settings, "WEBHOOK_RETRY_JITTER", 0.2))
    if jitter >= 1:
        raise ImproperlyConfigured("WEBHOOK_RETRY_JITTER is a fraction below 1 (e.g. 0.2).")
    timeout = _number("WEBHOOK_TIMEOUT_SECONDS", getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 15))
    overlap = _number(
        "WEBHOOK_SECRET_OVERLAP_HOURS", getattr(settings, "WEBHOOK_SECRET_OVERLAP_HOURS", 24)
    )
    disable_after = _number(
        "WEBHOOK_DISABLE_AFTER_DAYS", getattr(settings, "WEBHOOK_DISABLE_AFTER_DAYS", 5)
    )
    return WebhookSettings(
        retry_schedule=schedule,
        retry_jitter=jitter,
        timeout_seconds=timeout or DEFAULT_TIMEOUT_SECONDS,
        secret_overlap=timedelta(hours=overlap),
        disable_after=timedelta(days=disable_after),
        allow_private_targets=bool(settings.WEBHOOK_ALLOW_PRIVATE_TARGETS),
        encryption_keys=tuple(settings.WEBHOOK_ENCRYPTION_KEYS),
    )
