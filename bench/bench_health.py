"""Latency of the health endpoints through the whole middleware stack (Django test client)."""

from __future__ import annotations

import statistics
import time

from django.test import Client

ROUNDS = 200


def _median_ms(client: Client, path: str, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 503):
            raise RuntimeError(f"{path} answered {response.status_code}")
    return statistics.median(samples)


def run() -> list[tuple[str, float, str]]:
    client = Client(HTTP_HOST="localhost")
    client.get("/health/deep")  # warm up: connections, the embedded server
    return [
        ("GET /health median", _median_ms(client, "/health", ROUNDS), "ms"),
        ("GET /health/deep median", _median_ms(client, "/health/deep", ROUNDS // 4), "ms"),
    ]
