"""Models of the project package.

``Access`` is an unmanaged model without a table: it carries the project-wide permission
``pggit_project.view_sensitive`` (see ``pggit_project.permissions``, docs/security.md).
"""

from django.db import models


class Access(models.Model):
    """No rows, no table: permissions that belong to no single app's model."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            (
                "view_sensitive",
                "Can see secrets in answers: webhook URL paths, delivery payloads and receivers' "
                "answers, client addresses of the DDL audit",
            )
        ]
        verbose_name = "access"
        verbose_name_plural = "access"

    def __str__(self) -> str:
        return "access"
