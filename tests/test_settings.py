"""Settings from the environment: no unsafe defaults, clear messages, development fallbacks."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from pggit_project.apps import ANNOUNCED_ENV
from pggit_project.settings.backends import database_config, describe_backends
from pggit_project.settings.environment import env_bool, env_rate, fernet_keys

# A server's start-up: Django set up, then the start-up lines (pggit_project.apps.announce_start_up)
PROBE = (
    "import django; django.setup(); from django.conf import settings; "
    "from pggit_project.apps import announce_start_up; announce_start_up(); print(settings.DEBUG)"
)


def start_up(tmp_path, **env):
    """Run Django's set-up in a fresh process with exactly these variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WEBHOOK_"))}
    # a web process started in this test process (pggit_project.asgi) marked the start-up lines
    # as logged for its children: this fresh process must log them as a new run would
    clean.pop(ANNOUNCED_ENV, None)
    clean.update(DJANGO_SETTINGS_MODULE="pggit_project.settings", PGGIT_DATA_DIR=str(tmp_path))
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=clean,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_missing_secret_key_stops_start_up_without_debug(tmp_path):
    result = start_up(tmp_path, WEBHOOK_ENCRYPTION_KEY=Fernet.generate_key().decode())
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_DEBUG=1" in result.stderr


def test_missing_webhook_key_stops_start_up_without_debug(tmp_path):
    result = start_up(tmp_path, DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "WEBHOOK_ENCRYPTION_KEY is not set" in result.stderr


def test_start_up_succeeds_with_both_secrets(tmp_path):
    result = start_up(
        tmp_path, DJANGO_SECRET_KEY="x" * 50, WEBHOOK_ENCRYPTION_KEY=Fernet.generate_key().decode()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_debug_uses_persisted_development_fallbacks_and_says_so(tmp_path):
    first = start_up(tmp_path, DJANGO_DEBUG="1")
    second = start_up(tmp_path, DJANGO_DEBUG="1")
    assert first.returncode == 0, first.stderr
    assert "development fallback for DJANGO_SECRET_KEY" in first.stderr
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert second.returncode == 0


def test_backends_line_is_logged_once(tmp_path):
    result = start_up(tmp_path, DJANGO_DEBUG="1", REDIS_URL="", DATABASE_URL="")
    lines = [line for line in result.stderr.splitlines() if "pgGit backends:" in line]
    assert len(lines) == 1
    assert "embedded PostgreSQL" in lines[0]
    assert "local-memory cache + in-memory channel layer" in lines[0]


def test_invalid_fernet_key_is_refused_with_how_to_make_one():
    good = Fernet.generate_key().decode()
    assert fernet_keys(f"{good}, {good}") == [good, good]
    with pytest.raises(ImproperlyConfigured, match="key #2 is not a Fernet key"):
        fernet_keys(f"{good},not-a-key")


def test_boolean_variables_refuse_unknown_words(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "maybe")
    with pytest.raises(ImproperlyConfigured, match="WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS")


def test_database_url_uses_the_pool_and_the_console_search_path(tmp_path):
    config = database_config(
        "postgres://app:pw@db.example:5433/pggit", pool_max_size=7, data_dir=tmp_path
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "pggit")
    assert config["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 7, "timeout": 10}
    assert config["OPTIONS"]["options"] == "-c search_path=pggit_console"
    assert config["OPTIONS"]["server_side_binding"] is True
    assert config["OPTIONS"]["prepare_threshold"] == 5


def test_prepared_statements_can_be_turned_off(tmp_path):
    config = database_config(
        "postgres://app@db.example/pggit",
        pool_max_size=2,
        data_dir=tmp_path,
        prepared_statements=False,
    )
    assert "server_side_binding" not in config["OPTIONS"]
    assert "prepare_threshold" not in config["OPTIONS"]


@pytest.mark.django_db
def test_a_repeated_statement_is_prepared_on_its_connection_with_server_side_binding():
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    name = "prepared-statement-probe"
    for _ in range(6):
        assert list(users.filter(username=name).values_list("id", flat=True)) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%auth_user%username%"],
        )
        prepared = cursor.fetchone()[0]
    # the embedded defaults keep Django's client-side binding: nothing is prepared there
    expected = 1 if connection.settings_dict["OPTIONS"].get("server_side_binding") else 0
    assert prepared == expected


def test_non_postgres_database_url_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="postgres"):
        database_config("mysql://u@h/db", pool_max_size=1, data_dir=tmp_path)


def test_backend_description_never_shows_the_password(tmp_path):
    line = describe_backends("postgres://app:s3cret@db.example/pggit", "redis://r:6379/0", tmp_path)
    assert line == (
        "pgGit backends: database=PostgreSQL at db.example/pggit; Redis cache + Redis channel layer"
    )


@pytest.mark.parametrize("raw", ["20", "0/minute", "20/fortnight", "²/minute", "-1/hour", "x/day"])
def test_token_rate_refuses_anything_but_count_per_period(monkeypatch, raw):
    monkeypatch.setenv("PGGIT_TOKEN_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="PGGIT_TOKEN_RATE must be <count>/<period>"):
        env_rate("PGGIT_TOKEN_RATE", "20/minute")


def test_token_rate_defaults_to_twenty_a_minute(monkeypatch):
    monkeypatch.delenv("PGGIT_TOKEN_RATE", raising=False)
    assert env_rate("PGGIT_TOKEN_RATE", "20/minute") == "20/minute"
    monkeypatch.setenv("PGGIT_TOKEN_RATE", "5/second")
    assert env_rate("PGGIT_TOKEN_RATE", "20/minute") == "5/second"
