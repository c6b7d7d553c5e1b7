"""Loads sql/001_foundation.sql: the pggit schema: configuration, event outbox, operation log."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = []

    operations = [
        run_sql_file(
            "001_foundation.sql",
            reverse_sql="DROP SCHEMA IF EXISTS pggit CASCADE",
        ),
    ]
