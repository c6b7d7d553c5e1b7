"""Input and output shapes of the cache endpoints (docs/api.md, Cache)."""

from __future__ import annotations

from rest_framework import serializers

from cachemgmt.namespaces import NAMESPACES


class InvalidateInputSerializer(serializers.Serializer):
    namespaces = serializers.ListField(
        child=serializers.ChoiceField(choices=list(NAMESPACES)),
        required=False,
        allow_empty=True,
        help_text="Namespaces to invalidate; omitted or empty: all of them.",
    )


class InvalidateOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    invalidated = serializers.ListField(child=serializers.CharField())


class WarmedPathSerializer(serializers.Serializer):
    path = serializers.CharField()
    key = serializers.CharField()
    result = serializers.ChoiceField(choices=["filled", "present"])


class SkippedPathSerializer(serializers.Serializer):
    path = serializers.CharField()
    reason = serializers.CharField()


class WarmOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    warmed = serializers.IntegerField(help_text="Number of entries now in the cache.")
    keys = serializers.ListField(child=serializers.CharField(), help_text="Their cache keys.")
    paths = WarmedPathSerializer(many=True)
    skipped = SkippedPathSerializer(many=True)


class NamespaceStatsSerializer(serializers.Serializer):
    ttl = serializers.IntegerField(help_text="Seconds an entry of this namespace lives.")
    generation = serializers.IntegerField(allow_null=True)
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    entries = serializers.IntegerField()


class StatsOutputSerializer(serializers.Serializer):
    hit_rate = serializers.FloatField(
        help_text="Percent of lookups answered from the cache, 0-100."
    )
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    requests = serializers.IntegerField(help_text="hits + misses.")
    size = serializers.IntegerField(help_text="Stored entries (L2 with Redis, else L1).")
    mode = serializers.ChoiceField(choices=["redis", "local"])
    scope = serializers.CharField(help_text="Whose lookups the counters cover.")
    bypassed = serializers.IntegerField(
        help_text="Requests this process answered from the database because the cache was unusable."
    )
    layers = serializers.DictField(child=serializers.DictField())
    namespaces = serializers.DictField(child=NamespaceStatsSerializer())
    last_event_id = serializers.IntegerField(
        allow_null=True, help_text="Last outbox event applied to the cache."
    )
