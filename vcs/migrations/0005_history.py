"""Loads sql/005_history.sql: log, show, object history, blame, schema_at, audit, verify."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0004_diff")]

    operations = [
        run_sql_file(
            "005_history.sql",
            # No reverse of its own: every object this file creates lives in the pggit schema,
            # which reversing 0001_engine drops as a whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
