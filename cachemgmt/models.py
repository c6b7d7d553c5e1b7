"""Models of the cachemgmt app.

The cache keeps nothing in the database. ``CacheControl`` is an unmanaged model without a table: it
gives the admin a "Cache" page (statistics, warm, invalidate) and carries the permissions that allow
changing the cache through the API or the admin (staff have them implicitly through the API).
"""

from django.db import models


class CacheControl(models.Model):
    """No rows, no table: the admin page and permissions of the cache."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        permissions = [
            ("invalidate_cache", "Can invalidate cached responses"),
            ("warm_cache", "Can warm the cache"),
        ]
        verbose_name = "cache"
        verbose_name_plural = "cache"

    def __str__(self) -> str:
        return "cache"
