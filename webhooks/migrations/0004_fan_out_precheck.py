"""Loads sql/022_webhooks_fan_out_precheck.sql: the fan-out trigger first looks for a subscriber."""

from django.db import migrations

from pggit_project.sqlfiles import read_sql_file, run_sql_file

# Going back restores the function as sql/020 and sql/021 leave it: both files are all
# CREATE ... IF NOT EXISTS / CREATE OR REPLACE / DROP TRIGGER IF EXISTS, so re-running them is safe.
# A one-element list each: sent as one string, never split.
REVERSE_SQL = [read_sql_file("020_webhooks.sql"), read_sql_file("021_webhooks_stale_results.sql")]


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_stale_results")]

    operations = [run_sql_file("022_webhooks_fan_out_precheck.sql", reverse_sql=REVERSE_SQL)]
