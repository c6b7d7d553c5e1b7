"""Views that exist only in tests, to exercise the shared API plumbing through the real stack."""

from __future__ import annotations

import threading

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from psycopg import sql
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from pggit_project.errors import DomainError
from pggit_project.permissions import RolePermissions
from pggit_project.roles import ROLES


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]


class UserList(ListAPIView):
    permission_classes = [IsAuthenticated]
    queryset = get_user_model().objects.order_by("username")
    serializer_class = UserSerializer


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


class GroupList(ListAPIView):
    """A list that is empty unless the test makes groups (the roles are left out)."""

    permission_classes = [IsAuthenticated]
    queryset = Group.objects.exclude(name__in=ROLES).order_by("name")
    serializer_class = GroupSerializer


class EchoInput(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    count = serializers.IntegerField(min_value=1)


class Echo(APIView):
    """GET answers "ok"; POST validates its body and echoes it."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        data = EchoInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data, status=201)


class Resource(APIView):
    """Answers every method with its name (and the body it was sent)."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"method": "GET"})

    def put(self, request):
        return Response({"method": "PUT", "body": request.data})

    def patch(self, request):
        return Response({"method": "PATCH", "body": request.data})

    def delete(self, request):
        return Response(status=204)


class Guarded(APIView):
    """GET needs ``auth.view_group``, POST ``auth.add_group`` (declared)."""

    permission_classes = [RolePermissions]
    required_permissions = {"get": ["auth.view_group"], "post": ["auth.add_group"]}

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"changed": True})


class GuardedByModel(APIView):
    """Changes need the model permission of ``queryset`` (``auth.delete_group`` for DELETE)."""

    permission_classes = [RolePermissions]
    queryset = Group.objects.all()

    def delete(self, request):
        return Response(status=204)


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def api_crash(request):
    raise RuntimeError("secret internals: password=hunter2")


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def api_domain_error(request):
    raise DomainError("branch 'main' is locked", code="locked", status=409)


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def api_engine_error(request):
    """Raises an engine-style error in PostgreSQL, as the engine's functions do."""
    message = f"[PGGIT-{request.query_params['code']}] something about the request"
    statement = sql.SQL(
        "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = {}, HINT = 'try again'; END $$"
    ).format(sql.Literal(message))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.connection))
    return Response({})


def plain_crash(request):
    raise RuntimeError("secret internals outside DRF")


def plain_teapot(request):
    return HttpResponse("<h1>I am HTML</h1>", status=418)


def streamed(request):
    """A streaming answer whose parts are produced one by one (the web process's pool)."""
    return StreamingHttpResponse(
        (f"part {n} on {threading.current_thread().name}\n".encode() for n in range(3)),
        content_type="text/plain",
    )
