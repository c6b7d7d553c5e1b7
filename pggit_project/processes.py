"""The development process runner: the product's processes started and stopped together.

``python manage.py serve`` (what ``make run`` calls) prepares the database, then runs
``dev_processes()`` as children until one exits or the runner is interrupted; then it stops them
all. A new process (the event listener, the webhook worker) is one more line in ``dev_processes``.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]


ASGI_APP = "pggit_project.asgi:application"


def web_server_options(bind: str, port: int) -> list[str]:
    """uvicorn's options for the web process: the application logs every request itself (with its
    request id), so uvicorn's own access log is off; client addresses are the connection's (never
    taken from X-Forwarded-For here); the ASGI lifespan protocol is not used."""
    return [
        "--host",
        bind,
        "--port",
        str(port),
        "--no-access-log",
        "--no-proxy-headers",
        "--lifespan",
        "off",
    ]


def web_command(bind: str, port: int) -> list[str]:
    """The web process's command line (README's process table)."""
    return [sys.executable, "-m", "uvicorn", *web_server_options(bind, port), ASGI_APP]


def dev_processes(*, bind: str, port: int, manage_py: Path) -> list[Process]:
    """The processes of a development run, in start order."""
    python = sys.executable
    return [
        Process("web", web_command(bind, port)),
        Process("listener", [python, str(manage_py), "pggit_listen"]),
        Process("scheduler", [python, str(manage_py), "pggit_scheduler"]),
        Process("worker", [python, str(manage_py), "deliver_webhooks"]),
    ]


class _Interrupted(Exception):
    pass


def _raise_interrupted(signum, frame):
    raise _Interrupted(signal.Signals(signum).name)


def _stop_all(running: dict[str, subprocess.Popen]) -> None:
    for name, child in running.items():
        if child.poll() is None:
            logger.info("stopping %s (pid %s)", name, child.pid)
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, child in running.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %ss; killing it", name, STOP_GRACE_SECONDS)
            child.kill()
            child.wait()


def run_together(processes: list[Process]) -> int:
    """Run ``processes`` until one exits (its exit code is returned) or SIGINT/SIGTERM (0)."""
    previous = {
        sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    running: dict[str, subprocess.Popen] = {}
    exit_code = 0
    try:
        for process in processes:
            running[process.name] = subprocess.Popen(process.argv)  # noqa: S603 (our own argv)
            logger.info("started %s (pid %s)", process.name, running[process.name].pid)
        while True:
            for name, child in running.items():
                code = child.poll()
                if code is not None:
                    logger.warning("%s exited with code %s; stopping the others", name, code)
                    return code or 1
            time.sleep(POLL_SECONDS)
    except _Interrupted as interrupt:
        logger.info("received %s; stopping", interrupt)
        return exit_code
    finally:
        _stop_all(running)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
