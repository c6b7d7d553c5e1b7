"""Announce (``pggit.cache_announce_users`` of sql/engine/cache/announce.sql) every change that decides what a token
may read, whoever makes it: a user's password (tokens issued before a change are revoked), group
memberships, and the permissions of users and groups (pggit_project.permissions)."""

from django.conf import settings
from django.db import migrations

TRIGGER = "cache_announce_users"
# The user columns that decide whether a token may read: revocation by password, activity, roles.
STATE_COLUMNS = ("is_active", "is_staff", "is_superuser", "password")
PREVIOUS_STATE_COLUMNS = ("is_active", "is_staff", "is_superuser")


def _tables(apps):
    user = apps.get_model(settings.AUTH_USER_MODEL)
    group = apps.get_model("auth", "Group")
    return user, [
        user._meta.get_field("groups").remote_field.through._meta.db_table,
        user._meta.get_field("user_permissions").remote_field.through._meta.db_table,
        group._meta.get_field("permissions").remote_field.through._meta.db_table,
    ]


def _attach_user_trigger(schema_editor, user, state_columns):
    quote = schema_editor.quote_name
    columns = ", ".join(
        quote(field.column)
        for field in user._meta.concrete_fields
        if field.column in state_columns or field.primary_key
    )
    table = quote(user._meta.db_table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER UPDATE OF {columns} OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_users()"
    )


def attach(apps, schema_editor):
    user, link_tables = _tables(apps)
    _attach_user_trigger(schema_editor, user, STATE_COLUMNS)
    for link in link_tables:
        table = schema_editor.quote_name(link)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_users()"
        )


def detach(apps, schema_editor):
    user, link_tables = _tables(apps)
    _attach_user_trigger(schema_editor, user, PREVIOUS_STATE_COLUMNS)
    for link in link_tables:
        table = schema_editor.quote_name(link)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("cachemgmt", "0002_users_trigger"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(attach, detach)]
