"""The embedded PostgreSQL server stops when the last process using it exits, even when another
user of it died without deregistering (killed by a signal)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from django.conf import settings

USER = """
import os, signal, sys, time
from pathlib import Path
from pggit_project.embedded_pg import ensure_server
ensure_server(Path(sys.argv[1]))
print("ready", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)  # no atexit: stays registered
time.sleep(float(sys.argv[3]))
"""


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def start_user(pgdata: Path, mode: str, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", USER, str(pgdata), mode, str(seconds)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def test_the_last_user_stops_the_server_although_another_was_killed(tmp_path):
    pgdata = tmp_path / "pgdata"
    # given: a long-lived user of the server, and a second one that is killed outright
    survivor = start_user(pgdata, "live", 3)
    victim = start_user(pgdata, "die", 0)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    pid = postmaster_pid(pgdata)
    assert pid is not None and psutil.pid_exists(pid)
    assert victim.pid in json.loads((pgdata / ".handle_pids.json").read_text())
    # when: the survivor exits normally
    assert survivor.wait(timeout=60) == 0
    # then: the server is stopped, not left running for the dead user
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(pid)
    assert postmaster_pid(pgdata) is None
