"""What an input serializer's fields cost per request (``FastInputMixin``, on
``WebhookInputSerializer``): building them (``serializer.fields``) and validating a create body
with an IP-literal URL (no name lookup), against DRF's own path (the declared fields deep-copied
for every serializer).

Run alone (``DATABASE_URL`` of a migrated database, ``REDIS_URL``)::

    DATABASE_URL=... REDIS_URL=... DJANGO_DEBUG=1 .venv/bin/python bench/bench_input_fields.py

For an A/B against another checkout, run it with ``BENCH_TREE`` set to that checkout (its code is
imported instead of this tree's). Figures are ``time.process_time`` of this process per
serializer, over ``BENCH_CALLS`` (20,000) serializers, each path measured ``BENCH_ROUNDS`` (4)
times interleaved (mixin, DRF, DRF, mixin, ...); the median is printed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_TREE") or Path(__file__).resolve().parent.parent)
CALLS = int(os.environ.get("BENCH_CALLS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
BODY = {"name": "bench", "url": "https://93.184.215.14/hook", "event_types": ["commit.created"]}


def run() -> list[tuple[str, float, str]]:
    from pggit_project import serializers as fast
    from webhooks.api.serializers import WebhookInputSerializer

    def fields():
        return WebhookInputSerializer(data={}).fields

    def validate():
        serializer = WebhookInputSerializer(data=BODY)
        if not serializer.is_valid():
            raise RuntimeError(serializer.errors)

    def measure(call, drf: bool) -> float:
        if drf:
            fast._input_templates[WebhookInputSerializer] = None  # DRF's get_fields
        else:
            fast._input_templates.pop(WebhookInputSerializer, None)
        for _ in range(200):
            call()
        start = time.process_time()
        for _ in range(CALLS):
            call()
        return (time.process_time() - start) / CALLS * 1e6

    figures = []
    for name, call in (("fields", fields), ("create body validated", validate)):
        times: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(ROUNDS):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for drf in order:
                times[drf].append(measure(call, drf))
        figures.append((f"{name}, mixin", statistics.median(times[False]), "µs"))
        figures.append((f"{name}, DRF", statistics.median(times[True]), "µs"))
    fast._input_templates.pop(WebhookInputSerializer, None)
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    print(f"load average {os.getloadavg()}")
    for name, value, unit in run():
        print(f"{name:<32} {value:>8.1f} {unit}")
