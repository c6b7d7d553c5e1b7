"""Version-control API: thin views over vcs.selectors (reads) and vcs.services (writes)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from cachemgmt.decorators import CachedViewSetMixin, cached_response
from pggit_project.constants import DEFAULT_PAGE_SIZE
from pggit_project.errors import DomainError
from pggit_project.filters import REPEATED, StrictOrderingFilter, repeated
from pggit_project.openapi import REF_NOT_FOUND, ErrorSerializer
from pggit_project.permissions import RolePermissions
from vcs import selectors, services
from vcs.api import serializers as s
from vcs.api.filters import AuditFilter, CommitFilter, ObjectFilter
from vcs.models import Branch, Commit, LiveObject, Merge, Rollback

CONFLICT = OpenApiResponse(ErrorSerializer, description="Conflicts with the current state.")
BRANCH_NAME_PATTERN = r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*"


def actor_of(request) -> str:
    return request.user.get_username()


FIXED_ORDER = StrictOrderingFilter(fields={})  # a paged list with one order: ?ordering= is a 400


def require_force_permission(request, force: bool) -> None:
    """``force`` (on a checkout or a merge into HEAD) destroys working changes or data, as a reset
    does: it needs ``vcs.revert_commit`` as well (403 otherwise; the console checks alike)."""
    if force and not request.user.has_perm("vcs.revert_commit"):
        raise PermissionDenied("force needs the permission vcs.revert_commit")


class StatusView(APIView):
    """HEAD's branch and commit, how many working changes there are (captured DDL not yet
    committed) and the first page of them."""

    required_permissions = {"get": ["vcs.view_branch"]}

    @extend_schema(responses=s.StatusSerializer, operation_id="status_retrieve")
    @cached_response(namespace="status")
    def get(self, request):
        return Response(s.StatusSerializer(selectors.status_page(DEFAULT_PAGE_SIZE)).data)


class StatusChangesView(GenericAPIView):
    """The working changes, paged, in capture order (then by object key); the first page is the
    one `GET /api/v1/status` carries."""

    required_permissions = {"get": ["vcs.view_branch"]}
    serializer_class = s.WorkingChangeSerializer
    filter_backends = []

    @extend_schema(
        responses=s.WorkingChangeSerializer(many=True), operation_id="status_changes_list"
    )
    @cached_response(namespace="status")
    def get(self, request):
        FIXED_ORDER.get_ordering(request, None, self)

        def fetch(limit: int, offset: int) -> tuple[int, list]:
            page = selectors.status_page(limit, offset)
            return page["working_change_count"], page["working_changes"]

        page = self.paginator.paginate_fetched(request, fetch)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


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
        require_force_permission(request, data.validated_data["force"])
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
    permission_classes = [RolePermissions]
    filterset_class = CommitFilter
    ordering_fields = ["committed_at", "author"]
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"

    @extend_schema(responses={200: s.CommitSerializer(many=True), 404: REF_NOT_FOUND})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: s.CommitSerializer, 404: REF_NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.commit_queryset()

    def get_object(self):
        return selectors.commit_resolve(self.kwargs["ref"])

    @extend_schema(responses={200: s.CommitChangeSerializer(many=True), 404: REF_NOT_FOUND})
    @action(
        detail=True,
        methods=["get"],
        serializer_class=s.CommitChangeSerializer,
        filter_backends=[],
    )
    @cached_response(namespace="commits")
    def changes(self, request, ref=None):
        """The objects a commit changed, paged, by object key; as many as its `change_count`."""
        FIXED_ORDER.get_ordering(request, None, self)
        page = self.paginate_queryset(selectors.commit_changes(self.get_object()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

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


MERGE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
CONFLICT_ID = OpenApiParameter("conflict_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MERGE_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such merge (or conflict).")


class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Merges: start one (three-way, with a strategy), read it and its conflicts, resolve them,
    complete or abort it."""

    queryset = Merge.objects.all()
    serializer_class = s.MergeSerializer
    permission_classes = [RolePermissions]
    required_permissions = {
        "resolve": ["vcs.change_merge"],
        "complete": ["vcs.change_merge"],
        "abort": ["vcs.change_merge"],
    }
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return selectors.merge_queryset()

    def get_object(self):
        return selectors.merge_get(int(self.kwargs["pk"]))

    @extend_schema(parameters=[MERGE_ID], responses={200: s.MergeSerializer, 404: MERGE_NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=s.MergeCreateSerializer,
        responses={201: s.MergeSerializer, 404: REF_NOT_FOUND, 409: CONFLICT},
        description="Merges `source` (a branch or any ref) into the branch `target`. The answer "
        "says what happened: `completed` (a merge commit with two parents), `fast_forward`, "
        "`up_to_date`, `conflicted` (MANUAL_REVIEW: resolve, then complete) or `aborted` "
        "(ABORT_ON_CONFLICT found conflicts: they are listed, nothing was applied). When the "
        "target is HEAD the live schema is migrated in the same transaction. 409: `locked` "
        "(another checkout/merge/revert is running), `merge_in_progress` (an open merge into "
        "the target), "
        "`working_changes`, `data_loss` (without `force`), `apply_failed`. `force` needs "
        "`vcs.revert_commit` besides `vcs.add_merge` (403 otherwise).",
    )
    def create(self, request):
        data = s.MergeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        require_force_permission(request, data.validated_data["force"])
        merge = services.merge_create(
            source=data.validated_data["source"],
            target=data.validated_data["target"],
            strategy=data.validated_data["strategy"],
            message=data.validated_data.get("message"),
            force=data.validated_data["force"],
            actor=actor_of(request),
        )
        return Response(s.MergeSerializer(merge).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[MERGE_ID],
        responses={200: s.ConflictSerializer(many=True), 404: MERGE_NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def conflicts(self, request, pk=None):
        items = selectors.merge_conflicts(int(pk))
        page = self.paginate_queryset(items)
        return self.get_paginated_response(s.ConflictSerializer(page, many=True).data)

    @extend_schema(
        parameters=[MERGE_ID, CONFLICT_ID],
        request=s.ResolveSerializer,
        responses={200: s.ResolveResultSerializer, 404: MERGE_NOT_FOUND, 409: CONFLICT},
        description="SOURCE or TARGET takes that side's version (for a DEPENDENCY conflict, of the "
        "object it depends on too); CUSTOM takes `custom_definition`, which must define exactly "
        "that object: it is applied to the live schema in a savepoint that is rolled back "
        "(400 `custom_invalid` with PostgreSQL's error, 400 `custom_mismatch`).",
    )
    def resolve(self, request, pk=None, conflict_id=None):
        data = s.ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.merge_resolve(
            merge_id=int(pk),
            conflict_id=int(conflict_id),
            resolution=data.validated_data["resolution"],
            custom_definition=data.validated_data.get("custom_definition"),
            actor=actor_of(request),
        )
        return Response(s.ResolveResultSerializer(result).data)

    @extend_schema(
        parameters=[MERGE_ID],
        request=s.MergeCompleteSerializer,
        responses={200: s.MergeSerializer, 404: MERGE_NOT_FOUND, 409: CONFLICT},
        description="Makes the merge commit of an open merge. 409 `unresolved_conflicts`, "
        "`merge_not_open`, `target_moved`, `merge_dependency` (the result would break a "
        "dependency; the findings are in `errors`), `data_loss`, `apply_failed`. `force` needs "
        "`vcs.revert_commit` besides `vcs.change_merge` (403 otherwise).",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        data = s.MergeCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        require_force_permission(request, data.validated_data["force"])
        merge = services.merge_complete(
            merge_id=int(pk), force=data.validated_data["force"], actor=actor_of(request)
        )
        return Response(s.MergeSerializer(merge).data)

    @extend_schema(
        parameters=[MERGE_ID],
        request=None,
        responses={200: s.MergeSerializer, 404: MERGE_NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def abort(self, request, pk=None):
        merge = services.merge_abort(merge_id=int(pk), actor=actor_of(request))
        return Response(s.MergeSerializer(merge).data)


def _rollback_response(result: dict) -> Response:
    code = status.HTTP_201_CREATED if result["status"] == "completed" else status.HTTP_200_OK
    return Response(s.RollbackResultSerializer(result).data, status=code)


ROLLBACK_RESPONSES = {
    200: s.RollbackResultSerializer,
    201: s.RollbackResultSerializer,
    404: REF_NOT_FOUND,
    409: CONFLICT,
}
ROLLBACK_DESCRIPTION = (
    " A dry run (the default) answers 200 with the exact DDL and the findings and changes "
    "nothing; executed, 201 with the new commit (applied to the live schema when the branch is "
    "HEAD). Refused by a finding: 409 `rollback_refused` with the findings in `errors`; `force` "
    "overrides data-loss findings only."
)


class RevertView(APIView):
    """Reverts a commit on HEAD's branch: a new commit undoing its changes."""

    required_permissions = {"post": ["vcs.revert_commit"]}

    @extend_schema(
        request=s.RevertSerializer,
        responses=ROLLBACK_RESPONSES,
        operation_id="reverts_create",
        description="A merge commit is reverted against its first parent." + ROLLBACK_DESCRIPTION,
    )
    def post(self, request):
        data = s.RevertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _rollback_response(services.revert(**data.validated_data, actor=actor_of(request)))


class ResetView(APIView):
    """Resets a branch to a commit or a time: a new commit whose tree is the target's."""

    required_permissions = {"post": ["vcs.revert_commit"]}

    @extend_schema(
        request=s.ResetSerializer,
        responses=ROLLBACK_RESPONSES,
        operation_id="resets_create",
        description="`to` is a ref, or an ISO 8601 time (the branch's last first-parent commit at "
        "or before it)." + ROLLBACK_DESCRIPTION,
    )
    def post(self, request):
        data = s.ResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _rollback_response(services.reset(**data.validated_data, actor=actor_of(request)))


class UndoView(APIView):
    """Sets single objects of HEAD's branch back to their definition at a ref."""

    required_permissions = {"post": ["vcs.revert_commit"]}

    @extend_schema(
        request=s.UndoSerializer,
        responses=ROLLBACK_RESPONSES,
        operation_id="undos_create",
        description="`objects`: keys (`table:public.users`) or `schema.name`."
        + ROLLBACK_DESCRIPTION,
    )
    def post(self, request):
        data = s.UndoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _rollback_response(services.undo(**data.validated_data, actor=actor_of(request)))


class RollbackViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Executed reverts, resets and undos, newest first."""

    queryset = Rollback.objects.all()
    serializer_class = s.RollbackSerializer
    permission_classes = [RolePermissions]

    def get_queryset(self):
        return selectors.rollback_queryset()
