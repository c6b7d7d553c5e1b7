"""The project's URLs plus the test-only views (``@pytest.mark.urls("tests.support.urls")``)."""

from django.urls import path

from pggit_project.routers import optional_slash
from pggit_project.urls import urlpatterns as project_urlpatterns
from tests.support import views

urlpatterns = [
    optional_slash("t/users", views.UserList.as_view()),
    optional_slash("t/groups", views.GroupList.as_view()),
    optional_slash("t/echo", views.Echo.as_view()),
    optional_slash("t/resource", views.Resource.as_view()),
    optional_slash("t/guarded", views.Guarded.as_view()),
    optional_slash("t/guarded-by-model", views.GuardedByModel.as_view()),
    optional_slash("t/api-crash", views.api_crash),
    optional_slash("t/domain-error", views.api_domain_error),
    optional_slash("t/engine-error", views.api_engine_error),
    path("t/plain-crash", views.plain_crash),
    path("t/plain-teapot", views.plain_teapot),
    path("t/stream", views.streamed),
    *project_urlpatterns,
]
