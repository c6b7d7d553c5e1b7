"""Loads sql/009_engine_checks.sql: verify proves recorded changes and definitions; argument checks."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0009_fixes")]

    operations = [
        run_sql_file(
            "009_engine_checks.sql",
            # No reverse of its own: it replaces function bodies and adds one helper; reversing
            # 0001_engine drops the pggit schema whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
