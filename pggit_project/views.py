"""The project's own endpoints: liveness, deep health, and the socket paths' answer to HTTP."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from pggit_project import __version__
from pggit_project.authentication import JWTAuthentication
from pggit_project.errors import body_for_status, error_response
from pggit_project.health import UNHEALTHY, run_checks

NO_STORE = {"Cache-Control": "no-store"}

DEEP_HEALTH = inline_serializer(
    "DeepHealth",
    {
        "status": serializers.ChoiceField(["healthy", "degraded", "unhealthy"]),
        "version": serializers.CharField(),
        "checks": serializers.DictField(
            child=serializers.DictField(),
            help_text='Per check: {"status"}; staff also get details (backend, timings, errors).',
        ),
    },
)


class LivenessView(APIView):
    """Liveness: the process answers. No I/O, no authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health_liveness",
        tags=["health"],
        auth=[],
        responses=inline_serializer(
            "Liveness",
            {"status": serializers.CharField(), "version": serializers.CharField()},
        ),
    )
    def get(self, request):
        return Response({"status": "healthy", "version": __version__}, headers=NO_STORE)


class DeepHealthView(APIView):
    """Readiness: every registered check (database, cache, channel layer, ...).

    200 when healthy or degraded (e.g. Redis down), 503 when unhealthy (e.g. database down).
    Anonymous callers get each check's status; authenticated staff also get the details.
    """

    authentication_classes = [JWTAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health_deep",
        tags=["health"],
        auth=[{}, {"jwtAuth": []}],
        responses={200: DEEP_HEALTH, 503: DEEP_HEALTH},
    )
    def get(self, request):
        include_details = bool(request.user and request.user.is_staff)
        report = run_checks(include_details=include_details)
        body = {"status": report["status"], "version": __version__, "checks": report["checks"]}
        status = 503 if report["status"] == UNHEALTHY else 200
        return Response(body, status=status, headers=NO_STORE)


@csrf_exempt
def websocket_only(request):
    """A socket path reached by plain HTTP: 426 Upgrade Required, in the error shape."""
    body = body_for_status(
        426,
        "This path is a WebSocket endpoint: connect with a WebSocket client "
        "(see docs/realtime.md).",
    )
    body.code = "upgrade_required"
    body.headers = {"Upgrade": "websocket", **NO_STORE}
    return error_response(body)


websocket_only.websocket_path = True  # not a REST route (the API conventions tests skip it)


@require_safe
def landing(request):
    """``/``: a small page with the ways in (console, live page, API docs, health)."""
    return render(request, "pggit_project/landing.html", {"version": __version__})
