"""``manage.py webhook_reencrypt_secrets``: re-encrypt stored webhook secrets with the newest
``WEBHOOK_ENCRYPTION_KEY`` (the first of the list), so that older keys can be dropped."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from webhooks.crypto import SecretUnreadable
from webhooks.services import webhook_reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt every webhook signing secret with the first WEBHOOK_ENCRYPTION_KEY."

    def handle(self, *args, **options) -> None:
        try:
            count = webhook_reencrypt_secrets()
        except SecretUnreadable as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted the secrets of {count} webhook endpoint(s).")
