"""Worker processes (``manage.py deliver_webhooks``) started against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def test_database_url() -> str:
    """The test database as a DATABASE_URL; the embedded server's host is its socket directory,
    percent-encoded (unencoded, its slashes made the URL's host empty)."""
    params = connection.settings_dict
    auth = quote(params["USER"] or "postgres")
    if params.get("PASSWORD"):
        auth += ":" + quote(params["PASSWORD"])
    host = quote(params.get("HOST") or "127.0.0.1", safe="")
    port = params.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{params['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        DJANGO_DEBUG="1",
        WEBHOOK_ENCRYPTION_KEY=",".join(settings.WEBHOOK_ENCRYPTION_KEYS),
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        WEBHOOK_RETRY_SCHEDULE="0.2,0.2,0.2",
        WEBHOOK_RETRY_JITTER="0",
        DJANGO_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


class WorkerProcess:
    def __init__(self, *args: str, **env: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "deliver_webhooks", *args],
            cwd=BASE_DIR,
            env=worker_env(**env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop_quietly(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
