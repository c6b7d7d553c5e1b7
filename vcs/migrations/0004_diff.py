"""Loads sql/004_diff.sql: diff, migration plans, checkout."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0003_core")]

    operations = [
        run_sql_file(
            "004_diff.sql",
            # No reverse of its own: every object this file creates lives in the pggit schema,
            # which reversing 0001_engine drops as a whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
