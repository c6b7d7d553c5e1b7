"""``manage.py serve``: migrate, make sure an admin can log in, run the product's processes."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from pggit_project.processes import dev_processes, run_together


class Command(BaseCommand):
    help = "Apply migrations, ensure an admin user, then run the web server (and later workers)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")

    def handle(self, *args, bind: str, port: int, **options):
        # Connecting first also starts the embedded PostgreSQL server when DATABASE_URL is unset;
        # this process then keeps it running until every child has stopped.
        connection.ensure_connection()
        call_command("migrate", interactive=False, verbosity=1)
        call_command("ensure_admin")
        connection.close()
        manage_py = Path(settings.BASE_DIR) / "manage.py"
        self.stdout.write(f"pgGit on http://{bind}:{port}/ (admin: /admin/, API: /api/v1/)")
        raise SystemExit(run_together(dev_processes(bind=bind, port=port, manage_py=manage_py)))
