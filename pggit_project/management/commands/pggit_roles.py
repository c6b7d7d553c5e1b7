"""``manage.py pggit_roles``: bring the roles' permissions back to their definition."""

from django.core.management.base import BaseCommand
from django.db import transaction

from pggit_project.roles import sync_roles


class Command(BaseCommand):
    help = (
        "Create the groups viewer, operator and admin if missing and set their permissions as "
        "docs/security.md describes (admin: every permission that exists now). Memberships are "
        "left alone. Add users to a role in the admin (Users > groups)."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = sync_roles()
        for role, count in counts.items():
            self.stdout.write(f"{role}: {count} permissions")
