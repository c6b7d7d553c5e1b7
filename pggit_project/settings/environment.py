"""Reading and validating the process environment.

Only the settings package calls these helpers: every variable the project understands is read in
``pggit_project/settings/__init__.py`` and listed in ``.env.example``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# Development fallbacks are only logged once per process, after logging is configured.
DEVELOPMENT_FALLBACKS: list[str] = []


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}."
    )


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


RATE_PERIODS = ("second", "minute", "hour", "day")


def env_rate(name: str, default: str) -> str:
    """A throttle rate ``<count>/<period>`` (period: second, minute, hour or day)."""
    raw = env_str(name) or default
    count, _, period = raw.partition("/")
    if not (count.isascii() and count.isdigit() and int(count) >= 1 and period in RATE_PERIODS):
        raise ImproperlyConfigured(
            f"{name} must be <count>/<period> with a count of at least 1 and a period of "
            f"{', '.join(RATE_PERIODS)} (e.g. 20/minute); got {raw!r}."
        )
    return raw


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Development-only secrets, generated once and kept under the data directory.

    Kept on disk (not regenerated per process) so that the web server, the listener and the worker
    agree on them and encrypted webhook secrets stay readable across restarts.
    """
    path = data_dir / "dev-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "DJANGO_SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "WEBHOOK_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    }
    missing = {name: make() for name, make in wanted.items() if name not in stored}
    if missing:
        stored.update(missing)
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return stored


def required_secret(name: str, *, debug: bool, data_dir: Path, how_to: str) -> str:
    """The secret from the environment; in debug mode a persisted development fallback."""
    value = env_str(name)
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(
            f"{name} is not set. Set it in the environment ({how_to}), "
            "or set DJANGO_DEBUG=1 to run with development fallbacks."
        )
    DEVELOPMENT_FALLBACKS.append(f"{name} (from {data_dir / 'dev-secrets.json'})")
    return _dev_secrets(data_dir)[name]


def fernet_keys(raw: str) -> list[str]:
    """Comma-separated Fernet keys, newest first; each one is validated."""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured("WEBHOOK_ENCRYPTION_KEY holds no key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"WEBHOOK_ENCRYPTION_KEY key #{position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
    return keys
