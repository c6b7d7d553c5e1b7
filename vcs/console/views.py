"""The version-control console in the Django admin: working changes and committing, commits with
their diffs, the commit graph, objects (definition, history, blame), branches (create, rename,
protect, delete, checkout with a preview) and the schema at a ref or time.

Every read goes through ``vcs.selectors`` and every action through ``vcs.services`` (the API's
code path), each action checked against the acting user's permissions (403 otherwise) and recorded
in the admin's history (LogEntry) besides the engine's audit trail (the services pass the user as
the engine's actor)."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pggit_project.errors import DomainError
from vcs import selectors, services
from vcs.console import graph
from vcs.console.diffs import unified
from vcs.models import Branch, Commit

# Who may do what (the API's permissions; roles in pggit_project/roles.py)
CAN_COMMIT = "vcs.add_commit"
CAN_CREATE_BRANCH = "vcs.add_branch"
CAN_CHANGE_BRANCH = "vcs.change_branch"
CAN_DELETE_BRANCH = "vcs.delete_branch"
CAN_CHECKOUT = "vcs.checkout_branch"
# Forcing a checkout destroys working changes or data, as a reset does.
CAN_FORCE = ("vcs.checkout_branch", "vcs.revert_commit")
GRAPH_LIMIT = 200


def console_page(*permissions: str):
    """An admin page (login required) whose user needs ``permissions`` (403 otherwise)."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorate


def requires(request, *permissions: str) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied


def actor(request) -> str:
    return request.user.get_username()


def context(request, title: str, **extra):
    return {
        **admin.site.each_context(request),
        "title": title,
        "can": {
            "commit": request.user.has_perm(CAN_COMMIT),
            "create_branch": request.user.has_perm(CAN_CREATE_BRANCH),
            "change_branch": request.user.has_perm(CAN_CHANGE_BRANCH),
            "delete_branch": request.user.has_perm(CAN_DELETE_BRANCH),
            "checkout": request.user.has_perm(CAN_CHECKOUT),
            "force": request.user.has_perms(CAN_FORCE),
        },
        **extra,
    }


def log(request, queryset, flag: int, message: str) -> None:
    """The action in the admin's history (Recent actions, each object's history)."""
    LogEntry.objects.log_actions(
        request.user.pk, list(queryset), flag, change_message=message, single_object=True
    )


def back(request, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or fallback
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return HttpResponseRedirect(target)


def url(name: str, *args) -> str:
    return reverse(f"vcs-console:{name}", args=args)


def _name(change) -> str:
    return ".".join(p for p in (change.get("schema_name"), change.get("object_name")) if p)


# --- working changes and commit ---------------------------------------------------------------
@console_page("vcs.view_commit")
@require_safe
def working_changes(request):
    status = selectors.working_changes_with_diffs()
    for change in status["working_changes"]:
        change["name"] = _name(change)
        change["diff"] = unified(change["before"], change["after"], name=change["name"])
    return render(
        request, "vcs/console/changes.html", context(request, "Working changes", status=status)
    )


@admin.site.admin_view
@require_POST
def commit_create(request):
    requires(request, CAN_COMMIT)
    message = (request.POST.get("message") or "").strip()
    if not message:
        messages.error(request, "A commit needs a message.")
        return HttpResponseRedirect(url("changes"))
    try:
        commit_hash = services.commit_create(message=message, author=None, actor=actor(request))
    except DomainError as error:
        messages.error(request, f"Not committed: {error.detail}")
        return HttpResponseRedirect(url("changes"))
    log(request, Commit.objects.filter(hash=commit_hash), ADDITION, f"Committed: {message}")
    messages.success(request, f"Committed {commit_hash[:12]}: {message}")
    return HttpResponseRedirect(url("commit", commit_hash))


# --- commits and the graph ----------------------------------------------------------------------
@console_page("vcs.view_commit")
@require_safe
def commit_page(request, ref: str):
    try:
        commit = selectors.commit_resolve(ref)
    except DomainError as error:
        raise Http404(error.detail) from error
    detail = selectors.commit_detail(commit)
    for change in detail["changes"]:
        change["name"] = _name(change)
        change["diff"] = unified(change["before"], change["after"], name=change["name"])
    heads = list(
        selectors.branch_queryset().filter(head_commit=commit.hash).values_list("name", flat=True)
    )
    return render(
        request,
        "vcs/console/commit.html",
        context(
            request,
            f"Commit {commit.short_hash}",
            commit=commit,
            detail=detail,
            heads=heads,
            is_merge=len(commit.parents) > 1,
        ),
    )


@console_page("vcs.view_commit")
@require_safe
def graph_page(request):
    commits = selectors.graph_commits(GRAPH_LIMIT)
    status = selectors.status_get()
    svg = graph.render(
        commits,
        heads=selectors.branch_heads(),
        head_branch=status["branch"],
        link=lambda h: url("commit", h),
    )
    return render(
        request,
        "vcs/console/graph.html",
        context(request, "Commit graph", svg=svg, shown=len(commits), limit=GRAPH_LIMIT),
    )


# --- objects ------------------------------------------------------------------------------------
@console_page("vcs.view_liveobject")
@require_safe
def object_list(request):
    objects = selectors.object_queryset()
    kind = request.GET.get("kind")
    if kind:
        objects = objects.filter(kind=kind)
    kinds = selectors.object_queryset().order_by("kind").values_list("kind", flat=True).distinct()
    return render(
        request,
        "vcs/console/objects.html",
        context(request, "Objects", objects=objects, kinds=list(kinds), kind=kind),
    )


@console_page("vcs.view_liveobject")
@require_safe
def object_page(request, key: str):
    obj = selectors.object_queryset().filter(object_key=key).first()
    if obj is None:
        raise Http404(f"no tracked object {key!r}")
    definition = selectors.object_definition(obj)
    history = selectors.object_history(obj.object_key)
    # each version against the one before it (history is newest first)
    for newer, older in zip(history, [*history[1:], None], strict=True):
        newer["diff"] = unified(
            older["definition"] if older else None, newer["definition"], name=obj.object_key
        )
    blame = selectors.object_blame(obj.object_key, definition)
    return render(
        request,
        "vcs/console/object.html",
        context(
            request,
            obj.object_key,
            obj=obj,
            definition=definition,
            history=history,
            blame=blame,
        ),
    )


# --- branches -----------------------------------------------------------------------------------
@console_page("vcs.view_branch")
@require_safe
def branch_list(request):
    head_id = selectors.head_branch_id()
    branches = list(selectors.branch_queryset())
    for branch in branches:
        branch.is_head = branch.id == head_id
    return render(
        request, "vcs/console/branches.html", context(request, "Branches", branches=branches)
    )


def _active_branch(name: str) -> Branch:
    branch = selectors.branch_queryset().filter(name=name).first()
    if branch is None:
        raise Http404(f"branch {name!r} does not exist")
    return branch


@admin.site.admin_view
@require_POST
def branch_create(request):
    requires(request, CAN_CREATE_BRANCH)
    name = (request.POST.get("name") or "").strip()
    from_ref = (request.POST.get("from_ref") or "").strip() or "HEAD"
    try:
        services.branch_create(name=name, from_ref=from_ref, actor=actor(request))
    except DomainError as error:
        messages.error(request, f"Branch not created: {error.detail}")
        return HttpResponseRedirect(url("branches"))
    branch = selectors.branch_queryset().filter(name=name)
    log(request, branch, ADDITION, f"Created branch {name} from {from_ref}")
    messages.success(request, f"Created branch {name} from {from_ref}.")
    return HttpResponseRedirect(url("branches"))


@admin.site.admin_view
@require_POST
def branch_rename(request, name: str):
    requires(request, CAN_CHANGE_BRANCH)
    branch = _active_branch(name)
    new_name = (request.POST.get("new_name") or "").strip()
    try:
        services.branch_update(name=name, new_name=new_name, actor=actor(request))
    except DomainError as error:
        messages.error(request, f"Not renamed: {error.detail}")
        return HttpResponseRedirect(url("branches"))
    log(request, Branch.objects.filter(id=branch.id), CHANGE, f"Renamed {name} to {new_name}")
    messages.success(request, f"Renamed branch {name} to {new_name}.")
    return HttpResponseRedirect(url("branches"))


@admin.site.admin_view
@require_POST
def branch_protect(request, name: str):
    requires(request, CAN_CHANGE_BRANCH)
    branch = _active_branch(name)
    protected = request.POST.get("protected") == "true"
    try:
        services.branch_update(name=name, protected=protected, actor=actor(request))
    except DomainError as error:
        messages.error(request, f"Not changed: {error.detail}")
        return HttpResponseRedirect(url("branches"))
    done = "Protected" if protected else "Unprotected"
    log(request, Branch.objects.filter(id=branch.id), CHANGE, f"{done} {name}")
    messages.success(request, f"{done} branch {name}.")
    return HttpResponseRedirect(url("branches"))


@admin.site.admin_view
@require_POST
def branch_delete(request, name: str):
    requires(request, CAN_DELETE_BRANCH)
    branch = _active_branch(name)
    try:
        services.branch_delete(name=name, actor=actor(request))
    except DomainError as error:
        messages.error(request, f"Not deleted: {error.detail}")
        return HttpResponseRedirect(url("branches"))
    log(request, Branch.objects.filter(id=branch.id), DELETION, f"Deleted branch {name}")
    messages.success(request, f"Deleted branch {name}.")
    return HttpResponseRedirect(url("branches"))


@admin.site.admin_view
@require_http_methods(["GET", "HEAD", "POST"])
def branch_checkout(request, name: str):
    """GET: what the checkout would run and destroy; POST (confirmed): run it."""
    if not request.user.has_perm("vcs.view_branch"):
        raise PermissionDenied
    branch = _active_branch(name)
    if request.method == "POST":
        requires(request, CAN_CHECKOUT)
        force = request.POST.get("force") == "true"
        if force:
            requires(request, *CAN_FORCE)
        if request.POST.get("confirm") != "yes":
            messages.error(request, "Confirm the checkout first.")
            return HttpResponseRedirect(url("checkout", name))
        try:
            result = services.branch_checkout(name=name, force=force, actor=actor(request))
        except DomainError as error:
            messages.error(request, f"Not checked out: {error.detail}")
            return HttpResponseRedirect(url("checkout", name))
        count = len(result["statements"])
        forced = " (forced)" if force else ""
        log(
            request,
            Branch.objects.filter(id=branch.id),
            CHANGE,
            f"Checked out {name}{forced}: {count} statement(s)",
        )
        messages.success(
            request,
            f"Switched to branch {name} at {result['commit'][:12]}{forced}: "
            f"{count} statement(s) run.",
        )
        return HttpResponseRedirect(url("graph"))
    try:
        preview = selectors.checkout_preview(name)
    except DomainError as error:
        raise Http404(error.detail) from error
    for step in preview["statements"]:  # as in the engine's migration scripts: one ; each
        text = step["statement"].rstrip()
        step["statement"] = text if text.endswith(";") else f"{text};"
    needs_force = bool(preview["findings"] or preview["working_changes"])
    return render(
        request,
        "vcs/console/checkout.html",
        context(
            request,
            f"Check out {name}",
            branch=branch,
            preview=preview,
            needs_force=needs_force,
            is_current=preview["current_branch"] == name,
        ),
    )


# --- schema at a ref or time --------------------------------------------------------------------
@console_page("vcs.view_commit")
@require_safe
def schema_page(request):
    at = (request.GET.get("at") or "HEAD").strip()[:200] or "HEAD"
    try:
        ddl = selectors.schema_at(at)
    except DomainError as error:
        messages.error(request, f"No schema at {at!r}: {error.detail}")
        return render(
            request, "vcs/console/schema.html", context(request, "Schema", at=at, ddl=None)
        )
    if request.GET.get("download"):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in at)
        response = HttpResponse(ddl, content_type="application/sql; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="schema-{safe}.sql"'
        return response
    return render(request, "vcs/console/schema.html", context(request, "Schema", at=at, ddl=ddl))


app_name = "vcs-console"
urlpatterns = [
    path("", working_changes, name="changes"),
    path("commit/", commit_create, name="commit-create"),
    path("commits/<str:ref>/", commit_page, name="commit"),
    path("graph/", graph_page, name="graph"),
    path("objects/", object_list, name="objects"),
    path("objects/<path:key>/", object_page, name="object"),
    path("branches/", branch_list, name="branches"),
    path("branches/new/", branch_create, name="branch-create"),
    path("branches/<path:name>/rename/", branch_rename, name="branch-rename"),
    path("branches/<path:name>/protect/", branch_protect, name="branch-protect"),
    path("branches/<path:name>/delete/", branch_delete, name="branch-delete"),
    path("branches/<path:name>/checkout/", branch_checkout, name="checkout"),
    path("schema/", schema_page, name="schema"),
]
