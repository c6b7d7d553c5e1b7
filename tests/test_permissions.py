"""Reading needs a user; changing needs the matching permission (staff have them)."""

import pytest
from django.contrib.auth.models import Permission

from tests.conftest import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls")]


def test_any_authenticated_user_may_read(user_client):
    assert user_client.get("/t/guarded").json() == {"read": True}


def test_change_without_the_declared_permission_is_403(user_client):
    assert user_client.post("/t/guarded", {}).status_code == 403


def test_change_with_the_declared_permission_is_allowed(api_client, user):
    user.user_permissions.add(Permission.objects.get(codename="add_group"))
    api_client.credentials(HTTP_AUTHORIZATION=bearer(user))
    response = api_client.post("/t/guarded", {})
    assert response.status_code == 200
    assert response.json() == {"changed": True}


def test_staff_may_change_without_explicit_permissions(staff_client):
    assert staff_client.post("/t/guarded", {}).status_code == 200


def test_change_needs_the_model_permission_of_the_queryset(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=bearer(user))
    assert api_client.delete("/t/guarded-by-model").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="delete_group"))
    assert api_client.delete("/t/guarded-by-model").status_code == 204


def test_anonymous_change_is_401(api_client):
    assert api_client.post("/t/guarded", {}).status_code == 401
