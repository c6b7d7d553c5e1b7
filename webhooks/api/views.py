"""Webhooks API: thin views over webhooks.selectors (reads) and webhooks.services (writes)."""

from __future__ import annotations

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

from cachemgmt.decorators import CachedViewSetMixin
from pggit_project.compiled_sql import ReusableListSQL
from pggit_project.errors import DomainError
from pggit_project.filters import StrictOrderingFilter
from pggit_project.openapi import ErrorSerializer
from pggit_project.permissions import RolePermissions
from webhooks import selectors, services
from webhooks.api import serializers as s
from webhooks.api.filters import DeliveryFilter, WebhookFilter
from webhooks.choices import DeliveryStatus
from webhooks.constants import EVENT_TYPES
from webhooks.models import WebhookDelivery, WebhookEndpoint

CONFLICT = OpenApiResponse(ErrorSerializer, description="Conflicts with the current state.")
CHANGE_ENDPOINT = ["webhooks.change_webhookendpoint"]
DELIVERY_ORDERING_FIELDS = ["created_at", "id"]
DELIVERY_ORDERING = ["-created_at", "-id"]
DELIVERY_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=[choice.value for choice in DeliveryStatus]),
    OpenApiParameter("event_type", str, enum=list(EVENT_TYPES)),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Created at or after."),
    OpenApiParameter(
        "ordering",
        str,
        description="Comma-separated fields to order by, a leading - for descending: "
        f"{', '.join(DELIVERY_ORDERING_FIELDS)}. Any other field is a 400.",
    ),
]


def actor_of(request) -> str:
    return request.user.get_username()


def _with_secret(result: services.EndpointWithSecret):
    endpoint = result.endpoint
    endpoint.secret = result.secret  # shown once, in this response only
    return s.WebhookWithSecretSerializer(endpoint).data


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    destroy=extend_schema(summary="Delete a webhook endpoint (with its deliveries)"),
)
class WebhookViewSet(
    ReusableListSQL,
    CachedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints: CRUD, secret rotation, test event, deliveries, replay."""

    cache_namespace = "webhooks"
    queryset = WebhookEndpoint.objects.all()
    serializer_class = s.WebhookSerializer
    permission_classes = [RolePermissions]
    required_permissions = {
        "rotate_secret": CHANGE_ENDPOINT,
        "send_test": CHANGE_ENDPOINT,
        "replay": CHANGE_ENDPOINT,
        "deliveries": ["webhooks.view_webhookendpoint", "webhooks.view_webhookdelivery"],
    }
    filterset_class = WebhookFilter
    lookup_value_regex = r"[0-9]{1,18}"
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["id"]

    def get_queryset(self):
        if self.action == "deliveries":
            return selectors.delivery_list(endpoint_id=self.kwargs["pk"])
        return selectors.endpoint_list()

    def get_object(self) -> WebhookEndpoint:
        endpoint = selectors.endpoint_get(endpoint_id=self._endpoint_id())
        if endpoint is None:
            raise services.WebhookNotFound(f"No webhook {self.kwargs['pk']}.")
        return endpoint

    def _endpoint_id(self) -> int:
        return int(self.kwargs["pk"])  # the route admits 1..18 digits only

    @extend_schema(
        summary="Create a webhook endpoint",
        request=s.WebhookInputSerializer,
        responses={201: s.WebhookWithSecretSerializer},
    )
    def create(self, request):
        data = s.WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # WebhookInputSerializer.validate_url has checked the URL (webhook_validate_url)
        result = services.webhook_create(
            **{"event_types": ["*"], **data.validated_data},
            actor=actor_of(request),
            checked_url=data.validated_data["url"],
        )
        return Response(_with_secret(result), status=status.HTTP_201_CREATED)

    def _update(self, request):
        endpoint_id = self.get_object().pk
        data = s.WebhookInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_update(
            endpoint_id=endpoint_id,
            changes=dict(data.validated_data),
            actor=actor_of(request),
            checked_url=data.validated_data.get("url"),  # by validate_url, as for create
        )
        return Response(s.WebhookSerializer(endpoint).data)

    @extend_schema(
        summary="Change a webhook endpoint (partial body, like PATCH)",
        request=s.WebhookInputSerializer(partial=True),
        responses=s.WebhookSerializer,
    )
    def update(self, request, pk=None):
        return self._update(request)

    @extend_schema(
        summary="Change a webhook endpoint",
        request=s.WebhookInputSerializer(partial=True),
        responses=s.WebhookSerializer,
    )
    def partial_update(self, request, pk=None):
        return self._update(request)

    def destroy(self, request, pk=None):
        services.webhook_delete(endpoint_id=self._endpoint_id(), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate the signing secret",
        description="The new secret is returned once. The previous one keeps signing (a second "
        "`v1,` signature) during the overlap window (WEBHOOK_SECRET_OVERLAP_HOURS, default 24).",
        request=None,
        responses=s.WebhookWithSecretSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        result = services.webhook_rotate_secret(
            endpoint_id=self._endpoint_id(), actor=actor_of(request)
        )
        return Response(_with_secret(result))

    @extend_schema(
        summary="Send a webhook.test event to this endpoint",
        request=None,
        responses={202: s.DeliverySerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request, pk=None):
        delivery = services.webhook_send_test(
            endpoint_id=self._endpoint_id(), actor=actor_of(request)
        )
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Deliveries of this endpoint, newest first",
        parameters=DELIVERY_FILTER_PARAMETERS,
        responses=s.DeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"], serializer_class=s.DeliverySerializer, filter_backends=[])
    def deliveries(self, request, pk=None):
        self.get_object()
        filtered = DeliveryFilter(request.query_params, queryset=self.get_queryset())
        if not filtered.is_valid():
            raise ValidationError(filtered.errors)
        ordering = StrictOrderingFilter(fields=DELIVERY_ORDERING_FIELDS, default=DELIVERY_ORDERING)
        page = self.paginate_queryset(ordering.filter_queryset(request, filtered.qs, self))
        return self.get_paginated_response(s.DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Re-queue failed and cancelled deliveries created since a time",
        request=s.ReplayInputSerializer,
        responses={202: s.ReplayResultSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        self.get_object()
        data = s.ReplayInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.webhook_replay(
            endpoint_id=self._endpoint_id(),
            since=data.validated_data["since"],
            actor=actor_of(request),
        )
        return Response({"requeued": count}, status=status.HTTP_202_ACCEPTED)


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Webhook deliveries (all endpoints), detail with attempts, redeliver."""

    queryset = WebhookDelivery.objects.all()
    serializer_class = s.DeliverySerializer
    permission_classes = [RolePermissions]
    required_permissions = {"redeliver": ["webhooks.change_webhookdelivery"]}
    filterset_class = DeliveryFilter
    lookup_value_regex = r"[0-9]{1,18}"
    ordering_fields = DELIVERY_ORDERING_FIELDS
    ordering = DELIVERY_ORDERING

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.delivery_with_attempts()
        return selectors.delivery_list()

    def get_serializer_class(self):
        return s.DeliveryDetailSerializer if self.action == "retrieve" else s.DeliverySerializer

    def get_object(self) -> WebhookDelivery:
        delivery = self.get_queryset().filter(pk=int(self.kwargs["pk"])).first()
        if delivery is None:
            raise DomainError(
                f"No webhook delivery {self.kwargs['pk']}.", code="delivery_not_found", status=404
            )
        return delivery

    @extend_schema(
        summary="Send the delivery again now (same webhook-id)",
        request=None,
        responses={202: s.DeliverySerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = services.delivery_redeliver(
            delivery_id=self.get_object().pk, actor=actor_of(request)
        )
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
