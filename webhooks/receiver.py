"""A development receiver (``manage.py webhook_receiver``): prints every webhook that arrives and
whether its Standard Webhooks signature verifies, so anyone can watch real payloads locally."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def describe(
    *, path: str, headers: dict[str, str], body: bytes, secret: str | None
) -> tuple[bool | None, str]:
    """(verified: True/False, or None without a secret; the text to print)."""
    lower = {name.lower(): value for name, value in headers.items()}
    verified: bool | None = None
    if secret:
        try:
            Webhook(secret).verify(body, lower)
            verified = True
        except WebhookVerificationError:
            verified = False
    verdict = {True: "signature OK", False: "SIGNATURE INVALID", None: "not verified (no secret)"}
    try:
        shown = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        shown = body.decode("utf-8", errors="replace")
    lines = [
        f"POST {path}  webhook-id={lower.get('webhook-id', '-')}  "
        f"webhook-timestamp={lower.get('webhook-timestamp', '-')}  [{verdict[verified]}]",
        shown,
        "",
    ]
    return verified, "\n".join(lines)


def make_server(
    *, bind: str, port: int, secret: str | None, status: int, write: Callable[[str], None]
) -> ThreadingHTTPServer:
    """A server answering ``status`` (or 401 when a signature does not verify)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            verified, text = describe(
                path=self.path, headers=dict(self.headers.items()), body=body, secret=secret
            )
            write(text)
            answer = 401 if verified is False else status
            self.send_response(answer)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass  # one block per webhook is printed by do_POST

    return ThreadingHTTPServer((bind, port), Handler)
