"""Real processes for the socket tests: uvicorn web servers and ``pggit_listen`` listeners on a
database of their own, sharing the configured Redis (channels-redis); psql commits the events."""

from __future__ import annotations

import json
import subprocess
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.cachemgmt.live import Process, wait_for


def psql(url: str, sql: str) -> str:
    """Run ``sql`` in a psql session of its own; its output (unaligned, tuples only)."""
    result = subprocess.run(
        ["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def emit(url: str, event_type: str, data: dict | None = None) -> int:
    payload = json.dumps(data or {}).replace("'", "''")
    return int(psql(url, f"SELECT pggit.emit_event('{event_type}', '{payload}'::jsonb)"))


def ws_url(server: Process, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


def open_socket(server: Process, path: str = "/ws", **kwargs) -> ClientConnection:
    return connect(ws_url(server, path), open_timeout=15, proxy=None, **kwargs)


def receive(socket: ClientConnection, timeout: float = 10) -> dict:
    return json.loads(socket.recv(timeout=timeout))


def next_event(socket: ClientConnection, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = receive(socket, max(deadline - time.monotonic(), 0.01))
        if message["type"] == "event":
            return message["event"]


def subscribe(socket: ClientConnection, topics: list[str]) -> dict:
    socket.send(json.dumps({"action": "subscribe", "topics": topics}))
    return receive(socket)


def close_code(socket: ClientConnection, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            socket.recv(timeout=max(deadline - time.monotonic(), 0.01))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1
    raise AssertionError("the socket stayed open")


def wait_for_log(process: Process, text: str, timeout: float = 20) -> None:
    wait_for(lambda: text in process.log(), timeout=timeout, what=f"{text!r} in the log")
