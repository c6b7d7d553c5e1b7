"""Shared model plumbing of the apps over the engine's tables (vcs, alerts, webhooks).

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
