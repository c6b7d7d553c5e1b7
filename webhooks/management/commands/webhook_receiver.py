"""``manage.py webhook_receiver``: a local receiver that prints what arrives and checks the
signature (give it the endpoint's ``whsec_...`` secret)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from webhooks.receiver import make_server


class Command(BaseCommand):
    help = (
        "Run a development webhook receiver: prints each delivery and verifies its Standard "
        "Webhooks signature. Point a webhook at http://127.0.0.1:<port>/ (with "
        "WEBHOOK_ALLOW_PRIVATE_TARGETS=1)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1", help="Address (default %(default)s).")
        parser.add_argument("--port", type=int, default=8787, help="Port (default %(default)s).")
        parser.add_argument(
            "--secret",
            default=os.environ.get("WEBHOOK_RECEIVER_SECRET", ""),
            help="The endpoint's signing secret (or WEBHOOK_RECEIVER_SECRET).",
        )
        parser.add_argument(
            "--status", type=int, default=204, help="Status to answer (default %(default)s)."
        )

    def handle(self, *args, **options) -> None:
        server = make_server(
            bind=options["bind"],
            port=options["port"],
            secret=options["secret"] or None,
            status=options["status"],
            write=self._write,
        )
        host, port = server.server_address[:2]
        self._write(f"Listening on http://{host}:{port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
