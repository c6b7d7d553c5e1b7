"""Alerts, silences, performance and dashboard API: thin views over alerts.selectors (reads) and
alerts.services (writes)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import dashboard, selectors, services
from alerts.api import serializers as s
from alerts.api.filters import AlertFilter, OperationMetricFilter
from alerts.constants import MAX_BIGINT, PERFORMANCE_WINDOW_HOURS
from alerts.models import Alert, AlertSilence, OperationRecord
from cachemgmt.decorators import CachedViewSetMixin, cached_response
from pggit_project.compiled_sql import ReusableListSQL, compiled_lists
from pggit_project.errors import DomainError
from pggit_project.filters import StrictDjangoFilterBackend, StrictOrderingFilter
from pggit_project.openapi import ErrorSerializer
from pggit_project.permissions import RolePermissions

CONFLICT = OpenApiResponse(ErrorSerializer, description="Not possible in the current state.")
ID_PATTERN = r"[0-9]{1,19}"


def actor_of(request) -> str:
    return request.user.get_username()


def object_id(raw: str, what: str) -> int:
    """A path id as an int; ids beyond PostgreSQL's bigint are unknown (404), not errors."""
    value = int(raw)
    if value > MAX_BIGINT:
        raise DomainError(f"no {what} {raw}", code=f"{what}_not_found", status=404)
    return value


def get_or_404(make_queryset, raw_id: str, what: str):
    """``make_queryset().filter(pk=...).first()`` (its statement kept: ``first_by_pk``), or a
    404."""
    found = compiled_lists.first_by_pk(make_queryset, object_id(raw_id, what))
    if found is None:
        raise DomainError(f"no {what} {raw_id}", code=f"{what}_not_found", status=404)
    return found


class AlertViewSet(
    ReusableListSQL,
    CachedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Alerts: list (filters), detail (with history), acknowledge (one or many), resolve, test,
    stats."""

    cache_namespace = "alerts"
    queryset = Alert.objects.all()
    serializer_class = s.AlertSerializer
    permission_classes = [RolePermissions]
    required_permissions = {
        "acknowledge": ["alerts.change_alert"],
        "acknowledge_many": ["alerts.change_alert"],
        "resolve": ["alerts.change_alert"],
        "fire_test": ["alerts.add_alert"],
    }
    filter_backends = [StrictDjangoFilterBackend, StrictOrderingFilter]
    filterset_class = AlertFilter
    ordering_fields = ["last_seen_at", "first_seen_at", "occurrences", "id"]
    ordering = ["-last_seen_at", "-id"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return selectors.alert_queryset()

    def get_object(self):
        return get_or_404(selectors.alert_queryset, self.kwargs["pk"], "alert")

    @extend_schema(responses=s.AlertDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        alert = self.get_object()
        context = {**self.get_serializer_context(), "history": selectors.alert_history(alert)}
        return Response(s.AlertDetailSerializer(alert, context=context).data)

    @extend_schema(
        request=s.BatchAcknowledgeSerializer,
        responses=s.BatchAcknowledgeResultSerializer,
        description="Acknowledges every firing or silenced alert of `alert_ids`; unknown ids are "
        "reported in `not_found`, not an error.",
        operation_id="alerts_acknowledge_many",
    )
    @action(detail=False, methods=["post"], url_path="acknowledge", filter_backends=[])
    def acknowledge_many(self, request):
        body = s.BatchAcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.alert_acknowledge_many(
            alert_ids=body.validated_data["alert_ids"],
            actor=actor_of(request),
            note=body.validated_data.get("note"),
        )
        return Response(result.as_dict())

    @extend_schema(request=s.NoteSerializer, responses={200: s.AlertSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk=None):
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(
            alert_id=object_id(pk, "alert"),
            actor=actor_of(request),
            note=body.validated_data.get("note"),
        )
        return Response(s.AlertSerializer(alert).data)

    @extend_schema(request=s.NoteSerializer, responses={200: s.AlertSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request, pk=None):
        body = s.NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.alert_resolve(
            alert_id=object_id(pk, "alert"),
            actor=actor_of(request),
            note=body.validated_data.get("note"),
        )
        return Response(s.AlertSerializer(alert).data)

    @extend_schema(
        request=None,
        responses={201: s.AlertSerializer},
        description="Fires an `info` alert with source `test` through the whole pipeline.",
    )
    @action(detail=False, methods=["post"], url_path="test", filter_backends=[])
    def fire_test(self, request):
        alert = services.alert_fire_test(actor=actor_of(request))
        return Response(s.AlertSerializer(alert).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.AlertStatsSerializer)
    @action(
        detail=False,
        methods=["get"],
        url_path="stats/summary",
        filter_backends=[],
        pagination_class=None,
    )
    def stats_summary(self, request):
        return Response(s.AlertStatsSerializer(selectors.alert_stats_summary()).data)


class AlertSilenceViewSet(viewsets.ModelViewSet):
    """Silences: matchers + expiry. PUT takes a partial body like PATCH."""

    queryset = AlertSilence.objects.all()
    serializer_class = s.AlertSilenceSerializer
    permission_classes = [RolePermissions]
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["ends_at", "starts_at", "id"]
    ordering = ["-ends_at", "-id"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return selectors.silence_queryset()

    def get_object(self):
        return get_or_404(selectors.silence_queryset, self.kwargs["pk"], "silence")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _output(self, silence: AlertSilence, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(silence).data, status=code)

    @extend_schema(request=s.AlertSilenceWriteSerializer, responses={201: s.AlertSilenceSerializer})
    def create(self, request, *args, **kwargs):
        body = s.AlertSilenceWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        silence = services.alert_silence_create(
            matchers=data["matchers"],
            ends_at=data["ends_at"],
            starts_at=data.get("starts_at"),
            comment=data.get("comment", ""),
            actor=actor_of(request),
        )
        return self._output(silence, status.HTTP_201_CREATED)

    @extend_schema(request=s.AlertSilenceWriteSerializer, responses=s.AlertSilenceSerializer)
    def update(self, request, *args, **kwargs):
        silence = self.get_object()
        body = s.AlertSilenceWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        silence = services.alert_silence_update(
            silence_id=silence.pk,
            matchers=data.get("matchers"),
            ends_at=data.get("ends_at"),
            starts_at=data.get("starts_at"),
            comment=data.get("comment"),
            actor=actor_of(request),
        )
        return self._output(silence)

    @extend_schema(request=s.AlertSilenceWriteSerializer, responses=s.AlertSilenceSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        silence = self.get_object()
        services.alert_silence_delete(silence_id=silence.pk, actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OperationSummaryView(APIView):
    """Per operation type over the last ``hours`` (default 24): runs, failures, slow runs,
    mean/p50/p95/p99/max durations, the last run and the baseline threshold."""

    required_permissions = {"get": ["alerts.view_operationrecord"]}

    @extend_schema(
        parameters=[
            OpenApiParameter("hours", float, description="Window in hours (default 24, ≤ 8784).")
        ],
        responses=s.OperationSummaryListSerializer,
        operation_id="performance_operations_list",
    )
    @cached_response(namespace="performance")
    def get(self, request):
        raw = request.query_params.get("hours", str(PERFORMANCE_WINDOW_HOURS))
        try:
            hours = float(raw)
        except ValueError:
            raise ValidationError({"hours": [f"Must be a number; got {raw!r}."]}) from None
        if not 0 < hours <= 24 * 366:
            raise ValidationError({"hours": ["Must be more than 0 and at most 8784."]})
        since = timezone.now() - timedelta(hours=hours)
        body = {"since": since, "operations": selectors.operation_summary(since=since)}
        return Response(s.OperationSummaryListSerializer(body).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "root", OpenApiTypes.BOOL, description="true: only spans without a parent."
            )
        ]
    )
)
class OperationMetricViewSet(viewsets.ReadOnlyModelViewSet):
    """Recorded engine operations (newest first); the detail adds the trace it belongs to."""

    queryset = OperationRecord.objects.all()
    serializer_class = s.OperationMetricSerializer
    filter_backends = [StrictDjangoFilterBackend, StrictOrderingFilter]
    filterset_class = OperationMetricFilter
    ordering_fields = ["started_at", "duration_ms", "id"]
    ordering = ["-started_at", "-id"]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return selectors.metric_queryset()

    @extend_schema(responses=s.OperationTraceSerializer)
    def retrieve(self, request, *args, **kwargs):
        record = get_or_404(selectors.metric_queryset, self.kwargs["pk"], "operation")
        record.trace_spans = selectors.operation_trace(record.pk)
        return Response(s.OperationTraceSerializer(record).data)


class BaselineViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Baselines per operation type; ``recalculate`` recomputes them now."""

    serializer_class = s.BaselineSerializer
    permission_classes = [RolePermissions]
    required_permissions = {
        "get": ["alerts.view_performancebaseline"],
        "recalculate": ["alerts.change_performancebaseline"],
    }

    def get_queryset(self):
        return selectors.baseline_queryset()

    @extend_schema(request=s.RecalculateSerializer, responses=s.RecalculateResultSerializer)
    @action(detail=False, methods=["post"])
    def recalculate(self, request):
        body = s.RecalculateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hours = body.validated_data.get("window_hours")
        baselines = services.baselines_recalculate(
            window=None if hours is None else timedelta(hours=hours), actor=actor_of(request)
        )
        return Response(
            s.RecalculateResultSerializer(
                {"recalculated": len(baselines), "baselines": baselines}
            ).data
        )


class DashboardView(APIView):
    """Overview, performance, webhooks, alerts and recent events in one response."""

    required_permissions = {
        "get": [
            "vcs.view_commit",
            "alerts.view_alert",
            "alerts.view_operationrecord",
            "webhooks.view_webhookendpoint",
            "vcs.view_event",
        ]
    }

    @extend_schema(responses={200: dict}, operation_id="dashboard_retrieve")
    @cached_response(namespace="dashboard", depends_on=("alerts", "webhooks", "performance"))
    def get(self, request):
        return Response(dashboard.dashboard_get())
