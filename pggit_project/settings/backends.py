"""Database, cache and channel layer: the real servers when configured, embedded ones otherwise.

- ``DATABASE_URL`` set: that PostgreSQL server through psycopg 3 and its connection pool, with
  server-side parameter binding and prepared statements unless ``prepared_statements`` is off
  (``DATABASE_PREPARED_STATEMENTS=0``, for a pooler in front of the server that cannot keep them).
- ``DATABASE_URL`` unset: the embedded PostgreSQL server (``pggit_project.embedded_pg``), started on
  first connection with its data under ``PGGIT_DATA_DIR/pgdata``.
- ``REDIS_URL`` set: django-redis for the cache, channels-redis for the channel layer.
- ``REDIS_URL`` unset: local-memory cache and the in-memory channel layer (one process only).

Django's own tables live in the ``pggit_console`` schema (see ``CONSOLE_SCHEMA``): the connection's
``search_path`` is that schema only, so they never enter the version-controlled schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from pggit_project.constants import CONSOLE_SCHEMA, EMBEDDED_DATABASE_NAME

CONNECT_TIMEOUT_SECONDS = 5
# A statement executed this many times on a connection is prepared there (psycopg's
# ``prepare_threshold``): later executions skip the server's parse and plan.
PREPARE_THRESHOLD = 5
REDIS_TIMEOUT_SECONDS = 2


def _search_path_options() -> dict[str, Any]:
    return {
        "options": f"-c search_path={CONSOLE_SCHEMA}",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }


def database_config(
    database_url: str, *, pool_max_size: int, data_dir: Path, prepared_statements: bool = True
) -> dict[str, Any]:
    if not database_url:
        return {
            "ENGINE": "pggit_project.embedded_pg",
            "NAME": EMBEDDED_DATABASE_NAME,
            "USER": "postgres",
            "PGDATA": str(data_dir / "pgdata"),
            "OPTIONS": _search_path_options(),
        }
    try:
        config = dj_database_url.parse(database_url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or postgresql:// URL.")
    if not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL must name a database (postgres://user@host/NAME).")
    config["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django must not
    config["OPTIONS"] = {
        **config.get("OPTIONS", {}),
        **_search_path_options(),
        "pool": {"min_size": 1, "max_size": pool_max_size, "timeout": 10},
    }
    if prepared_statements:
        # Parameters sent apart from the SQL (Django's default interpolates them on the client),
        # so a repeated statement is prepared on its connection: about half the PostgreSQL CPU of
        # an uncached list request (docs/benchmarks.md, "Serving model and prepared statements").
        config["OPTIONS"]["server_side_binding"] = True
        config["OPTIONS"]["prepare_threshold"] = PREPARE_THRESHOLD
    return config


def cache_config(redis_url: str) -> dict[str, Any]:
    if not redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "pggit-default",
            }
        }
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "pggit",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            },
        }
    }


# Messages a socket's channel may hold before the layer drops new ones (the default, 100, is
# reached by a burst of events while a connection replays ``?since=``).
CHANNEL_CAPACITY = 2000
CHANNEL_REDIS_READ_TIMEOUT_SECONDS = 15
CHANNEL_REDIS_MAX_CONNECTIONS = 1000


def channel_layer_config(redis_url: str) -> dict[str, Any]:
    if not redis_url:
        return {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {"capacity": CHANNEL_CAPACITY},
            }
        }
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": redis_url,
                        # a socket's receive blocks in Redis for up to 5 s (channels-redis):
                        # redis-py's default read timeout (5 s) would cut it on a loaded host
                        "socket_timeout": CHANNEL_REDIS_READ_TIMEOUT_SECONDS,
                        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                        # each socket joins and leaves groups: a burst of connects or
                        # disconnects needs many connections at once (redis-py's default is 100)
                        "max_connections": CHANNEL_REDIS_MAX_CONNECTIONS,
                    }
                ],
                "prefix": "pggit",
                "capacity": CHANNEL_CAPACITY,
            },
        }
    }


def describe_backends(database_url: str, redis_url: str, data_dir: Path) -> str:
    """One line saying which backends this process uses (no passwords)."""
    if database_url:
        parsed = dj_database_url.parse(database_url)
        database = f"PostgreSQL at {parsed.get('HOST') or 'local socket'}/{parsed.get('NAME')}"
    else:
        database = f"embedded PostgreSQL (data in {data_dir / 'pgdata'})"
    if redis_url:
        cache = "Redis cache + Redis channel layer"
    else:
        cache = "local-memory cache + in-memory channel layer (single process; set REDIS_URL)"
    return f"pgGit backends: database={database}; {cache}"
