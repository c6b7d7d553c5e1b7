"""Loads sql/030_cache.sql: change announcements for tables written without outbox events."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [
        ("cachemgmt", "0001_initial"),
        ("alerts", "0002_alerts"),
        ("webhooks", "0001_webhooks_sql"),
    ]

    operations = [
        run_sql_file(
            "030_cache.sql",
            reverse_sql="""
                DROP TRIGGER IF EXISTS cache_announce_change ON pggit.operations;
                DROP TRIGGER IF EXISTS cache_announce_change ON pggit.alerts;
                DROP TRIGGER IF EXISTS cache_announce_change ON pggit.webhook_endpoints;
                DROP FUNCTION IF EXISTS pggit.cache_announce_change();
            """,
        ),
    ]
