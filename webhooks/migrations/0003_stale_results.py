"""Loads sql/021_webhooks_stale_results.sql: a result from a lost claim no longer counts towards
the endpoint's health counters."""

from django.db import migrations

from pggit_project.sqlfiles import read_sql_file, run_sql_file

# Going back restores the function as sql/020_webhooks.sql defines it: that file is all
# CREATE ... IF NOT EXISTS / CREATE OR REPLACE / DROP TRIGGER IF EXISTS, so re-running it is safe.
# A one-element list: sent as one string, never split.
REVERSE_SQL = [read_sql_file("020_webhooks.sql")]


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_models")]

    operations = [run_sql_file("021_webhooks_stale_results.sql", reverse_sql=REVERSE_SQL)]
