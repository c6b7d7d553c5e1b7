"""Loads sql/023_webhooks_fair_claim.sql: deliveries are claimed in turns across endpoints, with a
cap on attempts in flight per endpoint."""

from django.db import migrations

from pggit_project.sqlfiles import read_sql_file, run_sql_file

# Going back: drop the new claim and its indexes, then re-run sql/020-022, which recreate the
# claim of sql/020 (all CREATE ... IF NOT EXISTS / CREATE OR REPLACE / DROP TRIGGER IF EXISTS).
# A one-element list each: sent as one string, never split.
REVERSE_SQL = [
    "DROP FUNCTION IF EXISTS pggit.webhook_claim(text, integer, double precision, integer);"
    " DROP INDEX IF EXISTS pggit.webhook_deliveries_endpoint_due_idx;"
    " DROP INDEX IF EXISTS pggit.webhook_deliveries_in_flight_idx;",
    read_sql_file("020_webhooks.sql"),
    read_sql_file("021_webhooks_stale_results.sql"),
    read_sql_file("022_webhooks_fan_out_precheck.sql"),
]


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0004_fan_out_precheck")]

    operations = [run_sql_file("023_webhooks_fair_claim.sql", reverse_sql=REVERSE_SQL)]
