"""Installs the engine (sql/, in the order of sql/install.sql) with the one loader,
pggit_project.engine_sql. Later changes to the files of sql/ are applied by every `migrate`
(pggit_project.apps: post_migrate), not by new migrations."""

from django.db import migrations


def install(apps, schema_editor):
    from pggit_project.engine_sql import sync

    with schema_editor.connection.cursor() as cursor:
        sync(cursor)


def uninstall(apps, schema_editor):
    # the whole engine lives in the pggit schema (its event triggers depend on its functions)
    schema_editor.execute("DROP SCHEMA IF EXISTS pggit CASCADE")


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [migrations.RunPython(install, uninstall)]
