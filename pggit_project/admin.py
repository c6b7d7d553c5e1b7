"""Admin building blocks shared by the apps."""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A ModelAdmin that only shows rows: no add, change or delete through the admin.

    The tables behind it are written by the engine (its SQL functions) or by services; an admin
    that offers actions overrides the permission it needs locally.
    """

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
