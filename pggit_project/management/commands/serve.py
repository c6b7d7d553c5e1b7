"""``manage.py serve``: migrate, make sure an admin can log in, run the product's processes.

What ``make run`` calls. The port is checked first (a busy port is said plainly, before anything
starts); the migration output is one line; the address and the admin's credentials come last, once
the web server answers, so they are not buried in start-up output.
"""

from __future__ import annotations

import errno
import io
import socket
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from pggit_project.apps import announce_start_up
from pggit_project.processes import dev_processes, run_together

READY_WAIT_SECONDS = 120


def port_problem(bind: str, port: int) -> str | None:
    """Why ``bind:port`` cannot be listened on (in use, not allowed...), or None if it can."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {bind} is already in use (another pgGit or another server)"
            return f"cannot listen on {bind}:{port}: {exc.strerror or exc}"
    return None


def wait_until_listening(bind: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((bind, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = "Apply migrations, ensure an admin user, then run the web server and the workers."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")

    def handle(self, *args, bind: str, port: int, **options):
        problem = port_problem(bind, port)
        if problem:
            raise CommandError(
                f"{problem}. Stop what uses it, or pick another port: make run PORT={port + 1}"
            )
        announce_start_up()
        # Connecting first also starts the embedded PostgreSQL server when DATABASE_URL is unset;
        # this process then keeps it running until every child has stopped.
        self.stdout.write("Preparing the database (migrations and the engine's SQL) ...")
        connection.ensure_connection()
        migrate_output = io.StringIO()
        try:
            call_command("migrate", interactive=False, verbosity=1, stdout=migrate_output)
        except Exception:
            self.stderr.write(migrate_output.getvalue())
            raise
        applied = migrate_output.getvalue().count("  Applying ")
        self.stdout.write(f"Database ready ({applied} migration(s) applied).")
        admin_output = io.StringIO()
        call_command("ensure_admin", stdout=admin_output)
        connection.close()
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        banner = self.banner(bind, port, admin_output.getvalue().strip())
        threading.Thread(
            target=self.print_when_ready, args=(bind, port, banner), daemon=True
        ).start()
        raise SystemExit(run_together(dev_processes(bind=bind, port=port, manage_py=manage_py)))

    def banner(self, bind: str, port: int, admin_line: str) -> str:
        host = f"[{bind}]" if ":" in bind else bind
        base = f"http://{host}:{port}"
        rule = "=" * 72
        return "\n".join(
            [
                "",
                rule,
                f"  pgGit is running on {base}/",
                f"  console: {base}/admin/    API docs: {base}/api/schema/swagger-ui/",
                f"  {admin_line}",
                "  Stop with Ctrl-C.",
                rule,
                "",
            ]
        )

    def print_when_ready(self, bind: str, port: int, banner: str) -> None:
        host = "127.0.0.1" if bind in ("0.0.0.0", "") else ("::1" if bind == "::" else bind)  # noqa: S104
        if not wait_until_listening(host, port, READY_WAIT_SECONDS):
            self.stderr.write(f"The web server did not answer on port {port} yet; see its log.")
        time.sleep(0.5)  # after the web server's own start-up lines
        self.stdout.write(self.style.SUCCESS(banner))
        self.stdout.flush()
