"""API routes of the vcs app."""

from pggit_project.routers import OptionalSlashRouter, optional_slash
from vcs.api import views

router = OptionalSlashRouter()
router.register("branches", views.BranchViewSet, basename="branch")
router.register("commits", views.CommitViewSet, basename="commit")
router.register("objects", views.ObjectViewSet, basename="object")
router.register("audit", views.AuditViewSet, basename="audit")
router.register("events", views.EventViewSet, basename="event")
router.register("merges", views.MergeViewSet, basename="merge")
router.register("rollbacks", views.RollbackViewSet, basename="rollback")

urlpatterns = [
    # before the router: a branch name may contain "/", so ".../checkout" must win over the detail
    optional_slash(
        rf"branches/(?P<name>{views.BRANCH_NAME_PATTERN})/checkout",
        views.BranchViewSet.as_view({"post": "checkout"}),
        name="branch-checkout-path",
    ),
    optional_slash(
        r"merges/(?P<pk>[0-9]{1,18})/conflicts/(?P<conflict_id>[0-9]{1,9})/resolve",
        views.MergeViewSet.as_view({"post": "resolve"}),
        name="merge-conflict-resolve",
    ),
    optional_slash("reverts", views.RevertView.as_view(), name="reverts"),
    optional_slash("resets", views.ResetView.as_view(), name="resets"),
    optional_slash("undos", views.UndoView.as_view(), name="undos"),
    optional_slash("status", views.StatusView.as_view(), name="status"),
    optional_slash("status/changes", views.StatusChangesView.as_view(), name="status-changes"),
    optional_slash("diff", views.DiffView.as_view(), name="diff"),
    optional_slash("schema", views.SchemaView.as_view(), name="schema-at"),
    optional_slash("verify", views.VerifyView.as_view(), name="verify"),
    *router.urls,
]
