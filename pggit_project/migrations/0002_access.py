"""The project-wide permission model (no table): see pggit_project/models.py."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pggit_project", "0001_engine")]

    operations = [
        migrations.CreateModel(
            name="Access",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "access",
                "verbose_name_plural": "access",
                "permissions": [
                    (
                        "view_sensitive",
                        "Can see secrets in answers: webhook URL paths, delivery payloads and receivers' answers, client addresses of the DDL audit",
                    )
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
