"""The cache endpoints: statistics, warm and invalidate, each with its permission."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from cachemgmt import selectors, services
from cachemgmt.api import serializers as s
from pggit_project.permissions import RolePermissions

NO_STORE = {"Cache-Control": "no-store"}


class CacheStatsView(APIView):
    """Hit/miss counters (across processes with Redis), sizes per layer and namespace."""

    required_permissions = {"get": ["cachemgmt.view_cachecontrol"]}

    @extend_schema(operation_id="cache_stats", tags=["cache"], responses=s.StatsOutputSerializer)
    def get(self, request):
        return Response(selectors.cache_stats(), headers=NO_STORE)


class CacheWarmView(APIView):
    """Fill the hot read paths through their real views; report which entries exist now."""

    permission_classes = [RolePermissions]
    required_permissions = {"post": ["cachemgmt.warm_cache"]}

    @extend_schema(
        operation_id="cache_warm", tags=["cache"], request=None, responses=s.WarmOutputSerializer
    )
    def post(self, request):
        result = services.cache_warm(user=request.user)
        keys = [item["key"] for item in result["filled"]]
        body = {
            "status": "ok",
            "warmed": len(keys),
            "keys": keys,
            "paths": result["filled"],
            "skipped": result["skipped"],
        }
        return Response(body, headers=NO_STORE)


class CacheInvalidateView(APIView):
    """Make the named namespaces (all when none are named) stale in every process."""

    permission_classes = [RolePermissions]
    required_permissions = {"post": ["cachemgmt.invalidate_cache"]}

    @extend_schema(
        operation_id="cache_invalidate",
        tags=["cache"],
        request=s.InvalidateInputSerializer,
        responses=s.InvalidateOutputSerializer,
    )
    def post(self, request):
        data = s.InvalidateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        names = services.cache_invalidate(namespaces=data.validated_data.get("namespaces"))
        return Response({"status": "ok", "invalidated": names}, headers=NO_STORE)
