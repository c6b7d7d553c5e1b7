"""Logged-in admin clients and DDL for the console's tests."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from tests.conftest import PASSWORD, with_role


def ddl(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def browser(role: str | None, name: str, *codenames: str) -> Client:
    """A staff user ``name``, with the role ``role`` (if any) and these permissions, logged in."""
    user = get_user_model().objects.create_user(name, password=PASSWORD, is_staff=True)
    if role:
        with_role(user, role)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client
