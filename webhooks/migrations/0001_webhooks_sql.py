"""Loads sql/020_webhooks.sql: webhook endpoints, deliveries, attempts, workers and the fan-out."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file

REVERSE_SQL = """
DROP TRIGGER IF EXISTS webhook_fan_out ON pggit.events;
DROP FUNCTION IF EXISTS pggit.webhook_fan_out();
DROP FUNCTION IF EXISTS pggit.webhook_claim(text, integer, double precision);
DROP FUNCTION IF EXISTS pggit.webhook_record_attempt(bigint, uuid, integer, timestamptz,
    double precision, integer, text, jsonb, text, text, timestamptz, interval, text);
DROP FUNCTION IF EXISTS pggit.webhook_endpoint_account(bigint, boolean, interval);
DROP FUNCTION IF EXISTS pggit.webhook_endpoint_disable(bigint, text);
DROP FUNCTION IF EXISTS pggit.webhook_alert(bigint, text, text);
DROP FUNCTION IF EXISTS pggit.webhook_requeue(bigint);
DROP FUNCTION IF EXISTS pggit.webhook_replay(bigint, timestamptz);
DROP FUNCTION IF EXISTS pggit.webhook_worker_beat(text, text, integer, integer, bigint, boolean);
DROP TABLE IF EXISTS pggit.webhook_attempts;
DROP TABLE IF EXISTS pggit.webhook_deliveries;
DROP TABLE IF EXISTS pggit.webhook_endpoints;
DROP TABLE IF EXISTS pggit.webhook_workers;
"""


class Migration(migrations.Migration):
    dependencies = [("vcs", "0001_engine")]

    operations = [run_sql_file("020_webhooks.sql", reverse_sql=REVERSE_SQL)]
