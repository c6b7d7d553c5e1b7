"""Loads sql/002_catalog.sql: canonical definitions of every object kind, read from the catalogs."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0001_engine")]

    operations = [
        run_sql_file(
            "002_catalog.sql",
            # No reverse of its own: every object this file creates lives in the pggit schema,
            # which reversing 0001_engine drops as a whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
