"""Attaches the engine's pggit.cache_announce_users() (sql/engine/cache/announce.sql) to the user
model's table: a change of who may read is announced to the cache."""

from django.conf import settings
from django.db import migrations

TRIGGER = "cache_announce_users"
# The columns whose change decides whether a user may read (the others, e.g. last_login, do not).
STATE_COLUMNS = ("is_active", "is_staff", "is_superuser")


def _user_table(apps, schema_editor):
    model = apps.get_model(settings.AUTH_USER_MODEL)
    columns = [
        field.column
        for field in model._meta.concrete_fields
        if field.column in STATE_COLUMNS or field.primary_key
    ]
    quote = schema_editor.quote_name
    return quote(model._meta.db_table), ", ".join(quote(column) for column in columns)


def attach(apps, schema_editor):
    table, columns = _user_table(apps, schema_editor)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER UPDATE OF {columns} OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION pggit.cache_announce_users()"
    )


def detach(apps, schema_editor):
    table, _ = _user_table(apps, schema_editor)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("cachemgmt", "0001_initial"),
        ("pggit_project", "0001_engine"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(attach, detach)]
