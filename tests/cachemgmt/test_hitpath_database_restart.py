"""The early hit path across a PostgreSQL stop and restart (docs/security.md, "Faults").

A PostgreSQL cluster of this test's own (``initdb``/``pg_ctl`` on a free port, stopped and started
by the test; the shared server is never touched), a real uvicorn server on it. While the database
is down, cached reads answer 503 in the error shape and ``/health/deep`` says so, the early path
included; once it is back, cached reads are answered again with no error logged: the connection
the early path read user states with was closed, not kept (before the fix, every cached read
logged the early path's failure with a traceback until the server was restarted).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings

from tests.cachemgmt import live as helpers

pytestmark = pytest.mark.faults

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
# initdb and postgres refuse to run as root: the cluster then runs as this system user.
CLUSTER_USER = "postgres"
DATABASE = "pggit_fault_restart"
HEALTH_TIMEOUT = 120
EARLY_PATH_FAILED = "the early hit path failed"  # the ERROR the hit path logged before the fix


class Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<port>."""

    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="pggit-fault-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.user = CLUSTER_USER if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)

    def _run(self, *argv: str) -> None:
        subprocess.run(
            [str(self.bin_dir / argv[0]), *argv[1:]],
            check=True,
            capture_output=True,
            user=self.user,
            cwd=self.directory,
        )

    def init(self) -> None:
        self._run("initdb", "-U", "postgres", "--auth=trust", "-D", str(self.data))

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster():
    if not POSTGRES_BIN_DIRS:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(CLUSTER_USER)
        except KeyError:
            pytest.skip(f"running as root and there is no {CLUSTER_USER!r} user to run initdb as")
    own = Cluster(POSTGRES_BIN_DIRS[0], helpers.free_port())
    own.init()
    own.start()
    yield own
    own.remove()


@pytest.fixture
def server_on_cluster(cluster, tmp_path):
    """A migrated database on the cluster, a superuser, and a uvicorn server using them."""
    subprocess.run(
        [
            str(cluster.bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            DATABASE,
        ],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url(DATABASE),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "WEBHOOK_ENCRYPTION_KEY": ",".join(settings.WEBHOOK_ENCRYPTION_KEYS),
        "DJANGO_SUPERUSER_PASSWORD": helpers.PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    if not settings.REDIS_URL:
        pytest.skip("the early hit path needs the cache's Redis level (REDIS_URL)")
    wipe_cache_keys()
    manage = [sys.executable, str(helpers.ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=helpers.ROOT, check=True)
    subprocess.run(
        [
            *manage,
            "createsuperuser",
            "--noinput",
            "--username",
            helpers.STAFF,
            "--email",
            "ops@example.com",
        ],
        env=env,
        cwd=helpers.ROOT,
        check=True,
        capture_output=True,
    )
    process = helpers.start_server(env, tmp_path / "server.log")
    yield process
    process.stop()
    wipe_cache_keys()


def wipe_cache_keys() -> None:
    """This database's cache keys in the configured Redis (a run before may have left some)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"pggit:cache:{DATABASE}:*", count=1000))
    if keys:
        client.delete(*keys)


def cached_read(client: httpx.Client) -> httpx.Response:
    return client.get("/api/v1/branches")


def test_cached_reads_answer_503_while_the_database_is_down_and_recover_after(
    cluster, server_on_cluster
):
    server = server_on_cluster
    with server.client() as client:
        assert cached_read(client).headers["X-Cache"] == "miss"
        for _ in range(3):  # the early path learns the answer's headers and the user's state
            assert cached_read(client).headers["X-Cache"] == "hit-l1"

        cluster.stop()
        # The first request that fails to reach the database (here the health check's probe)
        # makes the early path read user states again: cached reads then answer 503 too.
        # (every check that needs the database waits for the pool's timeout)
        health = httpx.get(f"{server.base_url}/health/deep", timeout=HEALTH_TIMEOUT)
        assert health.status_code == 503
        assert health.json()["checks"]["database"]["status"] == "unhealthy"
        # (each waits for the connection pool's timeout, 10 s: two are enough)
        down = [cached_read(client) for _ in range(2)]
        assert [response.status_code for response in down] == [503] * 2
        assert {response.json()["code"] for response in down} == {"service_unavailable"}
        health = httpx.get(f"{server.base_url}/health/deep", timeout=HEALTH_TIMEOUT)
        assert health.json()["checks"]["cache_hit_path"]["status"] == "degraded"

        cluster.start()
        log_before = len(server.log())
        deadline = time.monotonic() + 20
        while cached_read(client).status_code != 200:
            assert time.monotonic() < deadline, "cached reads did not recover in 20 s"
            time.sleep(0.2)
        after = [cached_read(client) for _ in range(20)]
        assert [response.status_code for response in after] == [200] * 20
        assert {response.headers["X-Cache"] for response in after} == {"hit-l1"}

        health = httpx.get(f"{server.base_url}/health/deep", timeout=15)
        assert health.status_code == 200
        assert health.json()["checks"]["cache_hit_path"]["status"] == "healthy"

    log = server.log()
    assert "the early hit path cannot read user states" in log[:log_before]
    assert EARLY_PATH_FAILED not in log
    assert "Traceback" not in log[log_before:]
