"""Admin: the "Cache" page shows the statistics and offers warm and invalidate (with permission)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from cachemgmt.models import CacheControl
from cachemgmt.selectors import cache_stats
from cachemgmt.services import cache_invalidate, cache_warm
from pggit_project.admin import ReadOnlyAdmin


@admin.register(CacheControl)
class CacheControlAdmin(ReadOnlyAdmin):
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request)
        user = request.user
        context = {
            **self.admin_site.each_context(request),
            "title": "Cache",
            "opts": self.model._meta,
            "stats": cache_stats(),
            "can_invalidate": user.is_superuser or user.has_perm("cachemgmt.invalidate_cache"),
            "can_warm": user.is_superuser or user.has_perm("cachemgmt.warm_cache"),
        }
        return TemplateResponse(request, "admin/cachemgmt/overview.html", context)

    def _act(self, request):
        action = request.POST.get("action")
        user = request.user
        if action == "invalidate":
            if not (user.is_superuser or user.has_perm("cachemgmt.invalidate_cache")):
                raise PermissionDenied
            names = cache_invalidate(namespaces=None)
            messages.success(request, f"Invalidated {len(names)} namespace(s).")
        elif action == "warm":
            if not (user.is_superuser or user.has_perm("cachemgmt.warm_cache")):
                raise PermissionDenied
            result = cache_warm(user=user)
            messages.success(
                request,
                f"Warmed {len(result['filled'])} path(s); skipped {len(result['skipped'])}.",
            )
        else:
            messages.error(request, "Unknown action.")
        return redirect(request.path)
