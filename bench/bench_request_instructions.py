"""Instructions a request of the web process's Python side (load-independent), from callgrind.

Wall-clock figures of ``bench_http.py`` move by ±15 % between runs on a shared machine; the
instructions a request costs do not (two runs agree within 0.01 %). This runs the ASGI application
in process (``pggit_project.asgi.application``: the middleware, the pooled request threads, the
views, the renderer; no HTTP server) under ``valgrind --tool=callgrind``, with production settings
and the response cache off, against ``bench_http.py``'s seeded data (500 users, 200 webhooks,
2,000 alerts): ``WARM_UP`` sequential requests, then the counters zeroed and ``REQUESTS`` more
measured, each with the next user's token; on uvloop's event loop when it is installed, as the web
process runs. Usage (``DATABASE_URL`` of a migrated database, ``REDIS_URL``, valgrind installed)::

    DATABASE_URL=... REDIS_URL=... DJANGO_DEBUG=1 \
        .venv/bin/python bench/bench_request_instructions.py

The figure includes the database driver's and the Redis client's work in this process, not the
servers'.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WARM_UP = 300
REQUESTS = 300
PATHS = ("/api/v1/webhooks", "/api/v1/alerts", "/api/v1/webhooks/{endpoint}")


def _child(path: str, tokens_file: str) -> None:
    """In the process valgrind runs: the requests, the counters zeroed after the warm-up and
    dumped after the measured ones."""
    import asyncio

    from pggit_project.asgi import application

    tokens = json.loads(Path(tokens_file).read_text())

    async def one(number: int) -> None:
        token = tokens[number % len(tokens)]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await application(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"{path} answered {sent[0]['status']}: {sent[1:]}")

    def control(option: str) -> None:
        command = [shutil.which("callgrind_control") or "callgrind_control", option]
        done = subprocess.run([*command, str(os.getpid())], capture_output=True, text=True)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"callgrind_control {option} failed: {done.stdout}{done.stderr}")

    async def main() -> None:
        for number in range(WARM_UP):
            await one(number)
        control("-z")
        for number in range(REQUESTS):
            await one(number)
        control("-d")

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


def _measure(path: str, tokens_file: str, out_dir: str) -> float:
    from bench_http import _server_environment

    env = {
        **os.environ,
        **_server_environment(),
        "PGGIT_CACHE_ENABLED": "0",
        "PYTHONHASHSEED": "0",
        "DJANGO_SETTINGS_MODULE": "pggit_project.settings",
    }
    done = subprocess.run(  # noqa: S603 (our own argv)
        [
            shutil.which("valgrind") or "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/cg.%p",
            sys.executable,
            __file__,
            "--child",
            path,
            tokens_file,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        # valgrind's own lines first, then the program's error: the last lines say why
        raise RuntimeError(
            f"the measured process failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    dumps = sorted(Path(out_dir).glob("cg.*.1"))
    if not dumps:
        raise RuntimeError("callgrind wrote no dump after the measured requests")
    for line in dumps[-1].read_text().splitlines():
        if line.startswith("summary:"):
            for dump in Path(out_dir).glob("cg.*"):
                dump.unlink()
            return int(line.split()[1]) / REQUESTS
    raise RuntimeError(f"no summary line in {dumps[-1]}")


def run() -> list[tuple[str, float, str]]:
    if not shutil.which("valgrind") or not os.environ.get("REDIS_URL"):
        print("bench_request_instructions: needs valgrind and REDIS_URL; skipped")
        return []
    from bench_http import _seed

    tokens, endpoint = _seed()
    results = []
    with tempfile.TemporaryDirectory() as out_dir:
        tokens_file = f"{out_dir}/tokens.json"
        Path(tokens_file).write_text(json.dumps(tokens))
        for path in PATHS:
            path = path.format(endpoint=endpoint)
            figure = _measure(path, tokens_file, out_dir)
            print(
                f"bench_request_instructions: GET {path}, uncached: {figure / 1000:,.0f} k "
                "instructions a request",
                file=sys.stderr,
                flush=True,
            )
            results.append((f"GET {path}, uncached", figure / 1000, "k instructions/request"))
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], sys.argv[3])
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
        # the users' tokens are minted here, once, for every path: under callgrind on a busy host
        # the three paths took longer than the default 15-minute lifetime, and the last answered 401
        os.environ.setdefault("JWT_ACCESS_MINUTES", "240")
        import django

        django.setup()
        for name, value, unit in run():
            print(f"{name:<45} {value:>12,.0f} {unit}")
