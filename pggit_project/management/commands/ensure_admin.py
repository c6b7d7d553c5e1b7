"""``manage.py ensure_admin``: make sure someone can log in to the console."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "With DJANGO_DEBUG on and no superuser yet, create the superuser 'admin' with a random "
        "password and print it once; otherwise print how to create one."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "An admin user exists: log in at /admin/ (forgotten the password? "
                ".venv/bin/python manage.py changepassword admin)."
            )
            return
        if not settings.DEBUG:
            self.stdout.write(
                "No admin user yet. Create one with: .venv/bin/python manage.py createsuperuser"
            )
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(DEMO_USERNAME, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in as '{DEMO_USERNAME}' with password '{password}' (shown once; "
                "change it with: .venv/bin/python manage.py changepassword admin)."
            )
        )
