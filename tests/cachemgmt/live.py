"""Real server processes for the cache tests: a database of their own, uvicorn, the listener.

The processes share the configured Redis with each other (and with the test process, in another
keyspace: cache keys are prefixed with the database name). Nothing here is mocked: the servers
are ``uvicorn pggit_project.asgi:application`` and ``manage.py pggit_listen``, as ``make run``
starts them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
import httpx
import psycopg
from django.conf import settings

from pggit_project.processes import ASGI_APP, web_server_options

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "live-servers-password-1"
STAFF = "operator"
# How long a server process may take to answer /health (a loaded 2-vCPU machine is slow to import)
SERVER_START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(name: str) -> str:
    parsed = dj_database_url.parse(os.environ["DATABASE_URL"])
    user = parsed.get("USER") or "postgres"
    password = f":{parsed['PASSWORD']}" if parsed.get("PASSWORD") else ""
    host = parsed.get("HOST") or "127.0.0.1"
    port = parsed.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}"


@dataclass
class LiveDatabase:
    name: str
    url: str
    env: dict[str, str]

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)


def create_live_database(suffix: str = "live") -> LiveDatabase:
    name = f"{settings.DATABASES['default']['NAME']}_{suffix}"
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": database_url(name),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "WEBHOOK_ENCRYPTION_KEY": ",".join(settings.WEBHOOK_ENCRYPTION_KEYS),
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [
            *manage,
            "createsuperuser",
            "--noinput",
            "--username",
            STAFF,
            "--email",
            "ops@example.com",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return LiveDatabase(name=name, url=env["DATABASE_URL"], env=env)


def drop_live_database(database: LiveDatabase) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


@dataclass
class Process:
    popen: subprocess.Popen
    log_path: Path
    base_url: str = ""
    token: str = ""
    extra: dict = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    handle = log_path.open("wb")
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def start_server(env: dict[str, str], log_path: Path) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", *web_server_options("127.0.0.1", port), ASGI_APP]
    popen = _spawn(argv, env, log_path)
    process = Process(popen=popen, log_path=log_path, base_url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"server exited early:\n{process.log()}")
        try:
            if httpx.get(f"{process.base_url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.stop()
        raise RuntimeError(f"server did not answer in {SERVER_START_SECONDS}s:\n{process.log()}")
    try:  # a loaded machine hashes the password slowly; a failure must not leave the server
        token = httpx.post(
            f"{process.base_url}/api/v1/auth/token",
            json={"username": STAFF, "password": PASSWORD},
            timeout=60,
        )
        process.token = token.json()["access"]
    except BaseException:
        process.stop()
        raise
    return process


def start_listener(env: dict[str, str], log_path: Path) -> Process:
    popen = _spawn([sys.executable, str(ROOT / "manage.py"), "pggit_listen"], env, log_path)
    return Process(popen=popen, log_path=log_path)


def wait_for(predicate, *, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
