"""Version-control API: thin views over vcs.selectors (reads) and vcs.services (writes)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from cachemgmt.decorators import CachedViewSetMixin, cached_response
from pggit_project.errors import DomainError
from pggit_project.filters import REPEATED, repeated
from pggit_project.openapi import REF_NOT_FOUND, ErrorSerializer
from pggit_project.permissions import RolePermissions
from vcs import selectors, services
from vcs.api import serializers as s
from vcs.api.filters import AuditFilter, CommitFilter, ObjectFilter
from vcs.models import Branch, Commit, CommitChange, LiveObject

CONFLICT = OpenApiResponse(ErrorSerializer, description="Conflicts with the current state.")
BRANCH_NAME_PATTERN = r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*"


def actor_of(request) -> str:
    return request.user.get_username()


class StatusView(APIView):
    """HEAD's branch and commit, and the working changes (captured DDL not yet committed)."""

    required_permissions = {"get": ["vcs.view_branch"]}

    @extend_schema(responses=s.StatusSerializer, operation_id="status_retrieve")
    @cached_response(namespace="status")
    def get(self, request):
        return Response(s.StatusSerializer(selectors.status_get()).data)


class BranchViewSet(
    CachedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Branches: list, create (from HEAD or any ref), rename/protect, delete (soft), checkout."""

    queryset = Branch.objects.all()
    serializer_class = s.BranchSerializer
    cache_namespace = "branches"
    cache_invalidates = ("commits", "status", "objects", "dashboard")
    permission_classes = [RolePermissions]
    required_permissions = {"checkout": ["vcs.checkout_branch"]}
    lookup_field = "name"
    lookup_value_regex = BRANCH_NAME_PATTERN

    def get_queryset(self):
        return selectors.branch_queryset()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "head_branch_id": selectors.head_branch_id()}

    def get_object(self):
        branch = selectors.branch_queryset().filter(name=self.kwargs["name"]).first()
        if branch is None:
            raise DomainError(
                f"branch {self.kwargs['name']!r} does not exist",
                code="branch_not_found",
                status=404,
            )
        return branch

    def _branch_response(self, name: str, status_code: int = status.HTTP_200_OK) -> Response:
        self.kwargs["name"] = name
        return Response(self.get_serializer(self.get_object()).data, status=status_code)

    @extend_schema(
        request=s.BranchCreateSerializer,
        responses={201: s.BranchSerializer, 404: REF_NOT_FOUND, 409: CONFLICT},
    )
    def create(self, request):
        data = s.BranchCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.branch_create(
            name=data.validated_data["name"],
            from_ref=data.validated_data["from_ref"],
            description=data.validated_data.get("description"),
            actor=actor_of(request),
        )
        return self._branch_response(data.validated_data["name"], status.HTTP_201_CREATED)

    @extend_schema(
        request=s.BranchUpdateSerializer, responses={200: s.BranchSerializer, 409: CONFLICT}
    )
    def partial_update(self, request, name=None):
        data = s.BranchUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_name = services.branch_update(
            name=name,
            new_name=data.validated_data.get("name"),
            protected=data.validated_data.get("protected"),
            actor=actor_of(request),
        )
        return self._branch_response(new_name)

    @extend_schema(responses={204: None, 409: CONFLICT})
    def destroy(self, request, name=None):
        services.branch_delete(name=name, actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.CheckoutSerializer,
        responses={200: s.CheckoutResultSerializer, 409: CONFLICT},
        description="Migrates the live schema to the branch's tree and moves HEAD. 409 "
        "`working_changes` with uncommitted changes, `data_loss` when a step would destroy data "
        "(unless `force`), `locked` while another checkout/merge runs. `force` needs "
        "`vcs.revert_commit` besides `vcs.checkout_branch` (403 otherwise).",
    )
    @action(detail=True, methods=["post"])
    def checkout(self, request, name=None):
        data = s.CheckoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["force"] and not request.user.has_perm("vcs.revert_commit"):
            # forcing destroys working changes or data, as a reset does (the console checks alike)
            raise PermissionDenied("force needs the permission vcs.revert_commit")
        result = services.branch_checkout(
            name=name, force=data.validated_data["force"], actor=actor_of(request)
        )
        return Response(s.CheckoutResultSerializer(result).data)


class CommitViewSet(
    CachedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The commit log (newest first) with filters, one commit by hash/prefix/ref, and committing."""

    queryset = Commit.objects.all()
    serializer_class = s.CommitSerializer
    cache_namespace = "commits"
    cache_invalidates = ("branches", "status", "objects", "audit", "dashboard")
    permission_classes = [RolePermissions]
    filterset_class = CommitFilter
    ordering_fields = ["committed_at", "author"]
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"

    @extend_schema(responses={200: s.CommitSerializer(many=True), 404: REF_NOT_FOUND})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.commit_queryset().prefetch_related(
            Prefetch("changes", queryset=CommitChange.objects.order_by("object_key"))
        )

    def get_object(self):
        commit = selectors.commit_resolve(self.kwargs["ref"])
        return self.get_queryset().get(id=commit.id)

    @extend_schema(
        request=s.CommitCreateSerializer,
        responses={201: s.CommitSerializer, 409: CONFLICT},
        description="Commits the working changes on HEAD. 409 `nothing_to_commit` when clean.",
    )
    def create(self, request):
        data = s.CommitCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        commit_hash = services.commit_create(
            message=data.validated_data["message"],
            author=data.validated_data.get("author"),
            actor=actor_of(request),
        )
        self.kwargs["ref"] = commit_hash
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)


class ObjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Tracked objects of the live schema; their definitions and their history."""

    queryset = LiveObject.objects.all()
    serializer_class = s.ObjectSerializer
    filterset_class = ObjectFilter
    ordering_fields = {
        "id": "object_key",
        "object_type": "kind",
        "schema_name": "schema_name",
        "object_name": "object_name",
    }
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return selectors.object_queryset()

    def get_object(self):
        obj = selectors.object_queryset().filter(object_key=self.kwargs["pk"]).first()
        if obj is None:
            raise DomainError(
                f"no tracked object {self.kwargs['pk']!r}", code="object_not_found", status=404
            )
        return obj

    @extend_schema(responses=s.ObjectDetailSerializer)
    def retrieve(self, request, pk=None):
        obj = self.get_object()
        obj.definition = selectors.object_definition(obj)
        return Response(s.ObjectDetailSerializer(obj).data)

    @extend_schema(responses=s.ObjectHistorySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, pk=None):
        obj = self.get_object()
        return Response(
            s.ObjectHistorySerializer(selectors.object_history(obj.object_key), many=True).data
        )


class DiffView(APIView):
    """The difference between two refs (branch, commit, HEAD, WORKING) and its migration script."""

    required_permissions = {"get": ["vcs.view_commit"]}

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.STR, required=True),
            OpenApiParameter("to", OpenApiTypes.STR, required=True),
        ],
        responses={200: s.DiffSerializer, 404: REF_NOT_FOUND},
        operation_id="diff_retrieve",
    )
    def get(self, request):
        query = s.DiffQuerySerializer(
            data={
                "from_ref": request.query_params.get("from"),
                "to_ref": request.query_params.get("to"),
            }
        )
        if not query.is_valid():
            errors = {{"from_ref": "from", "to_ref": "to"}[k]: v for k, v in query.errors.items()}
            raise DomainError("from and to are required refs", code="invalid", errors=errors)
        result = selectors.diff_get(
            from_ref=query.validated_data["from_ref"], to_ref=query.validated_data["to_ref"]
        )
        return Response(s.DiffSerializer(result).data)


class SchemaView(APIView):
    """The full DDL of the schema as of a ref or a timestamp (default HEAD)."""

    required_permissions = {"get": ["vcs.view_commit"]}

    @extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.STR, description="ref or ISO timestamp")],
        responses={200: s.SchemaSerializer, 404: REF_NOT_FOUND},
        operation_id="schema_at_retrieve",
    )
    def get(self, request):
        query = s.SchemaQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        at = query.validated_data["at"]
        return Response(s.SchemaSerializer({"at": at, "ddl": selectors.schema_at(at)}).data)


class AuditViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The raw DDL audit trail: every captured statement with its role, application and actor
    (its client address only with ``pggit_project.view_sensitive``)."""

    required_permissions = {"get": ["vcs.view_auditentry"]}

    serializer_class = s.AuditEntrySerializer
    filterset_class = AuditFilter
    ordering_fields = ["captured_at", "id"]

    def get_queryset(self):
        return selectors.audit_queryset()


class VerifyView(APIView):
    """Recomputes the hash chain and reports any break."""

    required_permissions = {"get": ["vcs.view_commit"]}

    @extend_schema(responses=s.VerifySerializer, operation_id="verify_retrieve")
    def get(self, request):
        return Response(s.VerifySerializer(selectors.verify()).data)


class EventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The event outbox, oldest first, for clients catching up (``?after=<event id>``)."""

    required_permissions = {"get": ["vcs.view_event"]}

    serializer_class = s.EventSerializer

    @extend_schema(parameters=[OpenApiParameter("after", OpenApiTypes.INT)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        if repeated(self.request.query_params, "after"):
            raise DomainError(
                "after is given more than once", code="invalid", errors={"after": [REPEATED]}
            )
        raw = self.request.query_params.get("after")
        if raw in (None, ""):
            return selectors.event_queryset()
        if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is true; int() refuses it
            raise DomainError(
                "after must be an event id (a non-negative integer)",
                code="invalid",
                errors={"after": ["A valid integer is required."]},
            )
        return selectors.event_queryset(after=int(raw))
