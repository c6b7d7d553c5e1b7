"""API routes of the vcs app."""

from pggit_project.routers import OptionalSlashRouter, optional_slash
from vcs.api import views

router = OptionalSlashRouter()
router.register("branches", views.BranchViewSet, basename="branch")
router.register("commits", views.CommitViewSet, basename="commit")
router.register("objects", views.ObjectViewSet, basename="object")
router.register("audit", views.AuditViewSet, basename="audit")
router.register("events", views.EventViewSet, basename="event")

urlpatterns = [
    # before the router: a branch name may contain "/", so ".../checkout" must win over the detail
    optional_slash(
        rf"branches/(?P<name>{views.BRANCH_NAME_PATTERN})/checkout",
        views.BranchViewSet.as_view({"post": "checkout"}),
        name="branch-checkout-path",
    ),
    optional_slash("status", views.StatusView.as_view(), name="status"),
    optional_slash("diff", views.DiffView.as_view(), name="diff"),
    optional_slash("schema", views.SchemaView.as_view(), name="schema-at"),
    optional_slash("verify", views.VerifyView.as_view(), name="verify"),
    *router.urls,
]
