"""Models of the project package.

``ReadOnlyModel`` is the shared model plumbing of the apps over the engine's tables (vcs, alerts,
webhooks). ``Access`` is an unmanaged model without a table: it carries the project-wide permission
``pggit_project.view_sensitive`` (see ``pggit_project.permissions``, docs/security.md).

(Django also sends post_migrate only to apps with a models module; pggit_project.apps applies the
changed files of sql/ then.)
"""

from __future__ import annotations

from django.db import models


class ReadOnlyModel(models.Model):
    """Refuses writes through the ORM: the engine is the only writer of the pggit schema."""

    class Meta:
        abstract = True
        managed = False

    def save(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is written by the engine's SQL functions only")

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is written by the engine's SQL functions only")


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
