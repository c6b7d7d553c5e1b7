"""The version-control console in the Django admin: working changes and committing, commits with
their diffs, the commit graph, objects (definition, history, blame), branches (create, rename,
protect, delete, checkout with a preview), merges (preview, conflicts resolved one by one, complete
or abort), revert, reset and undo (each with its dry run first) and the schema at a ref or time.

Every read goes through ``vcs.selectors`` and every action through ``vcs.services`` (the API's
code path), each action checked against the acting user's permissions (403 otherwise) and recorded
in the admin's history (LogEntry) besides the engine's audit trail (the services pass the user as
the engine's actor). ``console_action`` and ``perform`` are that path, shared by every action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pggit_project.errors import DomainError
from vcs import selectors, services
from vcs.console import graph
from vcs.console.diffs import unified
from vcs.models import Branch, Commit, Merge

# Who may do what (the API's permissions; roles in pggit_project/roles.py)
CAN_COMMIT = "vcs.add_commit"
CAN_CREATE_BRANCH = "vcs.add_branch"
CAN_CHANGE_BRANCH = "vcs.change_branch"
CAN_DELETE_BRANCH = "vcs.delete_branch"
CAN_CHECKOUT = "vcs.checkout_branch"
CAN_MERGE = "vcs.add_merge"  # start a merge (POST /api/v1/merges)
CAN_CHANGE_MERGE = "vcs.change_merge"  # resolve, complete, abort
CAN_ROLLBACK = "vcs.revert_commit"  # revert, reset, undo (dry runs too, as in the API)
# Forcing destroys working changes or data, as a reset does: a forced checkout or merge needs the
# reset permission besides its own (a forced revert, reset or undo needs it anyway).
CAN_FORCE = (CAN_CHECKOUT, CAN_ROLLBACK)
CAN_FORCE_MERGE = (CAN_ROLLBACK,)
STRATEGIES = ("ABORT_ON_CONFLICT", "SOURCE_WINS", "TARGET_WINS", "MANUAL_REVIEW")
RESOLUTIONS = ("SOURCE", "TARGET", "CUSTOM")
GRAPH_LIMIT = 200
CHANGES_PER_PAGE = 50  # changes (each with its diff) on a page
OBJECTS_PER_PAGE = 200
MERGE_LIST_LIMIT = 100


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


def console_action(*permissions: str):
    """A console action: POST only, login required, and the user needs ``permissions`` (403
    otherwise, before anything is read or run)."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            requires(request, *permissions)
            return view(request, *args, **kwargs)

        return admin.site.admin_view(require_POST(checked))

    return decorate


def requires(request, *permissions: str) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied


def actor(request) -> str:
    return request.user.get_username()


@dataclass
class Done:
    """What a successful action leaves: its entry in the admin's history (``objects``, the
    action ``flag`` and the ``log`` message), the message shown, and the page to go to."""

    objects: Any
    flag: int
    log: str
    message: str
    url: str
    level: int = messages.SUCCESS


def perform(
    request,
    run: Callable[[], Any],
    *,
    refused: str,
    back_to: str,
    done: Callable[[Any], Done],
    needs: tuple[str, ...] = (),
) -> HttpResponseRedirect:
    """The one path of every console action: the permissions ``needs`` (403), the service call
    ``run`` (the API's code path; the engine validates and audits it with the acting user), a
    refusal or failure of the engine shown as an error message (``refused: why``; never a 500)
    with a redirect to ``back_to``, and on success the admin's history entry, the message and the
    redirect ``done(result)`` gives."""
    requires(request, *needs)
    try:
        result = run()
    except DomainError as error:
        messages.error(request, f"{refused}: {explain(error)}")
        return HttpResponseRedirect(back_to)
    outcome = done(result)
    LogEntry.objects.log_actions(
        request.user.pk,
        list(outcome.objects),
        outcome.flag,
        change_message=outcome.log,
        single_object=True,
    )
    messages.add_message(request, outcome.level, outcome.message)
    return HttpResponseRedirect(outcome.url)


def explain(error: DomainError) -> str:
    """The engine's message; the findings of a refusal that carries them (revert, reset, undo,
    a merge breaking a dependency) unless the message lists them already."""
    findings = (error.errors or {}).get("findings") or []
    extra = [
        f["message"] for f in findings if f.get("message") and f["message"] not in error.detail
    ]
    return "; ".join([error.detail, *extra])


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
            "merge": request.user.has_perm(CAN_MERGE),
            "change_merge": request.user.has_perm(CAN_CHANGE_MERGE),
            "force_merge": request.user.has_perms(CAN_FORCE_MERGE),
            "rollback": request.user.has_perm(CAN_ROLLBACK),
        },
        **extra,
    }


def url(name: str, *args, query: dict | None = None) -> str:
    target = reverse(f"vcs-console:{name}", args=args)
    return f"{target}?{urlencode(query)}" if query else target


def field(request, name: str, default: str = "") -> str:
    return (request.POST.get(name) or "").strip() or default


def _name(change) -> str:
    return ".".join(p for p in (change.get("schema_name"), change.get("object_name")) if p)


def _with_diffs(changes: list[dict]) -> list[dict]:
    for change in changes:
        change["name"] = _name(change) or change.get("object_key", "")
        change["diff"] = unified(change["before"], change["after"], name=change["name"])
    return changes


def _page(request, items, per_page: int | None = None):
    """One page of ``items`` (a list or a query set) by ``?page=``: a schema of thousands of
    objects gives pages, never one page of everything. An unusable number shows the nearest page."""
    return Paginator(items, per_page or CHANGES_PER_PAGE).get_page(request.GET.get("page"))


def _terminated(statements: list[dict]) -> list[dict]:
    """Statements as in the engine's migration scripts: one ``;`` each."""
    for step in statements:
        text = step["statement"].rstrip()
        step["statement"] = text if text.endswith(";") else f"{text};"
    return statements


# --- working changes and commit ---------------------------------------------------------------
@console_page("vcs.view_commit")
@require_safe
def working_changes(request):
    status = selectors.working_changes_with_diffs()
    page = _page(request, status["working_changes"])
    _with_diffs(page.object_list)
    return render(
        request,
        "vcs/console/changes.html",
        context(request, "Working changes", status=status, page=page),
    )


@console_action(CAN_COMMIT)
def commit_create(request):
    message = field(request, "message")
    if not message:
        messages.error(request, "A commit needs a message.")
        return HttpResponseRedirect(url("changes"))
    return perform(
        request,
        lambda: services.commit_create(message=message, author=None, actor=actor(request)),
        refused="Not committed",
        back_to=url("changes"),
        done=lambda commit_hash: Done(
            Commit.objects.filter(hash=commit_hash),
            ADDITION,
            f"Committed: {message}",
            f"Committed {commit_hash[:12]}: {message}",
            url("commit", commit_hash),
        ),
    )


# --- commits and the graph ----------------------------------------------------------------------
@console_page("vcs.view_commit")
@require_safe
def commit_page(request, ref: str):
    try:
        commit = selectors.commit_resolve(ref)
    except DomainError as error:
        raise Http404(error.detail) from error
    page = _page(request, selectors.commit_change_queryset(commit))
    detail = selectors.commit_detail(commit, list(page.object_list))
    _with_diffs(detail["changes"])
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
            page=page,
        ),
    )


@console_page("vcs.view_commit")
@require_safe
def graph_page(request):
    commits = selectors.graph_commits(GRAPH_LIMIT)
    svg = graph.render(
        commits,
        heads=selectors.branch_heads(),
        head_branch=selectors.head_branch_name(),
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
    page = _page(request, objects, per_page=OBJECTS_PER_PAGE)
    return render(
        request,
        "vcs/console/objects.html",
        context(
            request, "Objects", objects=page.object_list, kinds=list(kinds), kind=kind, page=page
        ),
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
    head_name = next((b.name for b in branches if b.is_head), None)
    return render(
        request,
        "vcs/console/branches.html",
        context(request, "Branches", branches=branches, head_name=head_name),
    )


def _active_branch(name: str) -> Branch:
    branch = selectors.branch_queryset().filter(name=name).first()
    if branch is None:
        raise Http404(f"branch {name!r} does not exist")
    return branch


@console_action(CAN_CREATE_BRANCH)
def branch_create(request):
    name = field(request, "name")
    from_ref = field(request, "from_ref", "HEAD")
    return perform(
        request,
        lambda: services.branch_create(name=name, from_ref=from_ref, actor=actor(request)),
        refused="Branch not created",
        back_to=url("branches"),
        done=lambda _: Done(
            selectors.branch_queryset().filter(name=name),
            ADDITION,
            f"Created branch {name} from {from_ref}",
            f"Created branch {name} from {from_ref}.",
            url("branches"),
        ),
    )


@console_action(CAN_CHANGE_BRANCH)
def branch_rename(request, name: str):
    branch = _active_branch(name)
    new_name = field(request, "new_name")
    return perform(
        request,
        lambda: services.branch_update(name=name, new_name=new_name, actor=actor(request)),
        refused="Not renamed",
        back_to=url("branches"),
        done=lambda _: Done(
            Branch.objects.filter(id=branch.id),
            CHANGE,
            f"Renamed {name} to {new_name}",
            f"Renamed branch {name} to {new_name}.",
            url("branches"),
        ),
    )


@console_action(CAN_CHANGE_BRANCH)
def branch_protect(request, name: str):
    branch = _active_branch(name)
    protected = request.POST.get("protected") == "true"
    done = "Protected" if protected else "Unprotected"
    return perform(
        request,
        lambda: services.branch_update(name=name, protected=protected, actor=actor(request)),
        refused="Not changed",
        back_to=url("branches"),
        done=lambda _: Done(
            Branch.objects.filter(id=branch.id),
            CHANGE,
            f"{done} {name}",
            f"{done} branch {name}.",
            url("branches"),
        ),
    )


@console_action(CAN_DELETE_BRANCH)
def branch_delete(request, name: str):
    branch = _active_branch(name)
    return perform(
        request,
        lambda: services.branch_delete(name=name, actor=actor(request)),
        refused="Not deleted",
        back_to=url("branches"),
        done=lambda _: Done(
            Branch.objects.filter(id=branch.id),
            DELETION,
            f"Deleted branch {name}",
            f"Deleted branch {name}.",
            url("branches"),
        ),
    )


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
        forced = " (forced)" if force else ""

        def checked_out(result) -> Done:
            count = len(result["statements"])
            return Done(
                Branch.objects.filter(id=branch.id),
                CHANGE,
                f"Checked out {name}{forced}: {count} statement(s)",
                f"Switched to branch {name} at {result['commit'][:12]}{forced}: "
                f"{count} statement(s) run.",
                url("graph"),
            )

        return perform(
            request,
            lambda: services.branch_checkout(name=name, force=force, actor=actor(request)),
            refused="Not checked out",
            back_to=url("checkout", name),
            done=checked_out,
        )
    try:
        preview = selectors.checkout_preview(name)
    except DomainError as error:
        raise Http404(error.detail) from error
    _terminated(preview["statements"])
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


# --- merges -------------------------------------------------------------------------------------
MERGE_OUTCOMES = {
    "completed": "Merged {source} into {target}: merge commit {commit}.",
    "fast_forward": "Fast-forward: {target} moved to {source}'s commit {commit}; no merge commit.",
    "up_to_date": "Already up to date: {target} has everything {source} has; nothing changed.",
    "conflicted": "{count} conflict(s) to resolve before the merge of {source} into {target} "
    "can be completed (or abort it).",
    "aborted": "Not merged: {count} conflict(s) and the strategy ABORT_ON_CONFLICT; nothing was "
    "applied. Merge again with MANUAL_REVIEW to resolve them.",
}


def merge_outcome(merge: dict | Merge) -> str:
    row = merge if isinstance(merge, dict) else merge.__dict__
    return MERGE_OUTCOMES[row["status"]].format(
        source=row["source"],
        target=row["target"],
        commit=(row["result_commit"] or "")[:12],
        count=row["conflict_count"],
    )


@console_page("vcs.view_merge")
@require_safe
def merge_list(request):
    merges = list(selectors.merge_queryset()[:MERGE_LIST_LIMIT])
    return render(
        request,
        "vcs/console/merges.html",
        context(request, "Merges", merges=merges, limit=MERGE_LIST_LIMIT),
    )


@console_page("vcs.view_merge")
@require_safe
def merge_new(request):
    """The merge form; with a source, the preview of what merging it would do (nothing run)."""
    source = (request.GET.get("source") or "").strip()[:200]
    target = (request.GET.get("target") or "").strip()[:200] or "HEAD"
    strategy = request.GET.get("strategy") or "ABORT_ON_CONFLICT"
    if strategy not in STRATEGIES:
        strategy = "ABORT_ON_CONFLICT"
    preview = None
    if source:
        try:
            preview = selectors.merge_preview(source, target)
        except DomainError as error:
            messages.error(request, f"No preview: {explain(error)}")
        else:
            _with_diffs(preview["changes"])
            for conflict in preview["conflicts"]:
                conflict["diff"] = _sides_diff(conflict)
            if preview["plan"]:
                _terminated(preview["plan"]["statements"])
    branches = list(selectors.branch_queryset().values_list("name", flat=True))
    return render(
        request,
        "vcs/console/merge_new.html",
        context(
            request,
            "Merge",
            source=source,
            target=target,
            strategy=strategy,
            strategies=STRATEGIES,
            branches=branches,
            preview=preview,
            message=(request.GET.get("message") or "")[:10000],
        ),
    )


@console_action(CAN_MERGE)
def merge_create(request):
    source, target = field(request, "source"), field(request, "target", "HEAD")
    strategy = field(request, "strategy", "ABORT_ON_CONFLICT")
    message = field(request, "message") or None
    force = request.POST.get("force") == "true"
    back_to = url("merge-new", query={"source": source, "target": target, "strategy": strategy})
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Confirm the merge first.")
        return HttpResponseRedirect(back_to)

    def merged(merge: dict) -> Done:
        forced = " (forced)" if force else ""
        text = merge_outcome(merge)
        level = messages.WARNING if merge["status"] in ("conflicted", "aborted") else None
        return Done(
            Merge.objects.filter(id=merge["id"]),
            ADDITION,
            f"Merge {merge['id']} ({merge['strategy']}){forced}: {text}",
            text,
            url("merge", merge["id"]),
            level or messages.SUCCESS,
        )

    return perform(
        request,
        lambda: services.merge_create(
            source=source,
            target=target,
            strategy=strategy,
            message=message,
            force=force,
            actor=actor(request),
        ),
        needs=CAN_FORCE_MERGE if force else (),
        refused="Not merged",
        back_to=back_to,
        done=merged,
    )


def _sides_diff(conflict: dict) -> list:
    """A conflict's target definition against the source's (``--- target/…``, ``+++ source/…``)."""
    return unified(
        conflict["target"],
        conflict["source"],
        name=conflict["object_key"],
        sides=("target", "source"),
    )


def _merge(merge_id: int) -> Merge:
    try:
        return selectors.merge_get(merge_id)
    except DomainError as error:
        raise Http404(error.detail) from error


@console_page("vcs.view_merge")
@require_safe
def merge_page(request, merge_id: int):
    merge = _merge(merge_id)
    conflicts = selectors.merge_conflicts(merge.id)
    for conflict in conflicts:
        conflict["diff"] = _sides_diff(conflict)
        if conflict["resolution"] == "CUSTOM":
            conflict["custom"] = conflict["resolved"]
        else:
            conflict["custom"] = conflict["source"] or conflict["target"] or ""
    completion = None
    if merge.status == "conflicted":
        try:
            completion = selectors.merge_completion_plan(merge.id)
        except DomainError as error:  # the resolved result would not apply or resolve
            messages.error(request, f"Completing cannot be previewed: {explain(error)}")
        if completion:
            _with_diffs(completion["changes"])
            if completion["plan"]:
                _terminated(completion["plan"]["statements"])
    unresolved = sum(1 for c in conflicts if c["resolution"] is None)
    return render(
        request,
        "vcs/console/merge.html",
        context(
            request,
            f"Merge {merge.id}: {merge.source} into {merge.target}",
            merge=merge,
            outcome=merge_outcome(merge),
            conflicts=conflicts,
            unresolved=unresolved,
            completion=completion,
            is_open=merge.status == "conflicted",
            resolutions=RESOLUTIONS,
        ),
    )


@console_action(CAN_CHANGE_MERGE)
def merge_resolve(request, merge_id: int, conflict_id: int):
    merge = _merge(merge_id)
    resolution = field(request, "resolution")
    custom = request.POST.get("custom_definition") if resolution == "CUSTOM" else None
    back_to = url("merge", merge.id) + f"#conflict-{conflict_id}"
    if resolution not in RESOLUTIONS:
        messages.error(request, "Resolve as SOURCE, TARGET or CUSTOM.")
        return HttpResponseRedirect(back_to)
    if resolution == "CUSTOM" and not (custom and custom.strip()):
        messages.error(request, "A CUSTOM resolution needs the object's DDL.")
        return HttpResponseRedirect(back_to)
    return perform(
        request,
        lambda: services.merge_resolve(
            merge_id=merge.id,
            conflict_id=conflict_id,
            resolution=resolution,
            custom_definition=custom,
            actor=actor(request),
        ),
        refused=f"Conflict {conflict_id} not resolved",
        back_to=back_to,
        done=lambda result: Done(
            Merge.objects.filter(id=merge.id),
            CHANGE,
            f"Resolved conflict {conflict_id} ({result['object_key']}) as {resolution}",
            f"Conflict {conflict_id} ({result['object_key']}) resolved as {resolution}; "
            f"{result['remaining']} unresolved.",
            back_to,
        ),
    )


@console_action(CAN_CHANGE_MERGE)
def merge_complete(request, merge_id: int):
    merge = _merge(merge_id)
    force = request.POST.get("force") == "true"
    forced = " (forced)" if force else ""
    return perform(
        request,
        lambda: services.merge_complete(merge_id=merge.id, force=force, actor=actor(request)),
        needs=CAN_FORCE_MERGE if force else (),
        refused="Not completed",
        back_to=url("merge", merge.id),
        done=lambda result: Done(
            Merge.objects.filter(id=merge.id),
            CHANGE,
            f"Completed{forced}: merge commit {result['result_commit']}",
            merge_outcome(result),
            url("merge", merge.id),
        ),
    )


@console_action(CAN_CHANGE_MERGE)
def merge_abort(request, merge_id: int):
    merge = _merge(merge_id)
    return perform(
        request,
        lambda: services.merge_abort(merge_id=merge.id, actor=actor(request)),
        refused="Not aborted",
        back_to=url("merge", merge.id),
        done=lambda _: Done(
            Merge.objects.filter(id=merge.id),
            CHANGE,
            "Aborted",
            f"Aborted the merge of {merge.source} into {merge.target}; nothing was applied.",
            url("merge", merge.id),
        ),
    )


# --- revert, reset, undo ------------------------------------------------------------------------
@dataclass
class Rollback:
    """One of revert, reset and undo: its form's fields, the service and how its runs read."""

    name: str
    title: str
    fields: tuple[str, ...]
    run: Callable[..., dict]
    describe: Callable[[dict], str]

    def arguments(self, values: dict[str, str]) -> dict[str, Any]:
        if self.name == "undo":
            keys = [line.strip() for line in values["objects"].splitlines() if line.strip()]
            return {"objects": keys, "to": values["to"]}
        return dict(values)


ROLLBACKS = {
    "revert": Rollback(
        "revert",
        "Revert a commit",
        ("commit",),
        services.revert,
        lambda v: f"Revert {v['commit']} on HEAD's branch",
    ),
    "reset": Rollback(
        "reset",
        "Reset a branch",
        ("branch", "to"),
        services.reset,
        lambda v: f"Reset {v['branch']} to {v['to']}",
    ),
    "undo": Rollback(
        "undo",
        "Undo objects",
        ("objects", "to"),
        services.undo,
        lambda v: f"Undo {', '.join(v['objects'].split())} to {v['to']}",
    ),
}


def rollback_page(request, operation: str):
    """GET: the form. POST without confirmation: the dry run (the service's, as the API's: the
    exact DDL and the findings; nothing changes). POST confirmed: the execution."""
    spec = ROLLBACKS[operation]
    source = request.POST if request.method == "POST" else request.GET
    values = {name: (source.get(name) or "").strip()[:10000] for name in spec.fields}
    mainline = None
    if operation == "revert" and values["commit"]:
        try:
            commit = selectors.commit_resolve(values["commit"])
        except DomainError:
            commit = None  # the dry run says why
        if commit is not None and len(commit.parents) > 1:
            mainline = commit
    page = {"spec": spec, "values": values, "dry_run": None, "mainline": mainline}
    if request.method == "POST":
        requires(request, CAN_ROLLBACK)
        if not all(values.values()):
            messages.error(request, f"Give {' and '.join(spec.fields)}.")
        elif request.POST.get("confirm") == "yes":
            return _rollback_run(request, spec, values)
        else:
            try:
                page["dry_run"] = spec.run(
                    **spec.arguments(values), dry_run=True, force=False, actor=actor(request)
                )
            except DomainError as error:
                messages.error(request, f"No dry run: {explain(error)}")
            else:
                findings = page["dry_run"]["findings"]
                page["errors"] = [f for f in findings if f["level"] == "error"]
                page["needs_force"] = bool(page["errors"]) and all(
                    f["check"] == "data_loss" for f in page["errors"]
                )
                page["refused"] = bool(page["errors"]) and not page["needs_force"]
    return render(
        request,
        "vcs/console/rollback.html",
        context(request, spec.title, **page),
    )


def _rollback_run(request, spec: Rollback, values: dict[str, str]):
    force = request.POST.get("force") == "true"
    forced = " (forced)" if force else ""
    summary = spec.describe(values)

    def ran(result: dict) -> Done:
        count = sum(1 for line in result["script"].splitlines() if line.rstrip().endswith(";"))
        return Done(
            Commit.objects.filter(hash=result["commit"]),
            ADDITION,
            f"{summary}{forced}: commit {result['commit']}",
            f"{summary}{forced}: new commit {result['commit'][:12]} ({count} statement(s)).",
            url("commit", result["commit"]),
        )

    return perform(
        request,
        lambda: spec.run(
            **spec.arguments(values), dry_run=False, force=force, actor=actor(request)
        ),
        needs=(CAN_ROLLBACK,),
        refused=f"{spec.title.split()[0]} refused",
        back_to=url(spec.name, query=values),
        done=ran,
    )


@admin.site.admin_view
@require_http_methods(["GET", "HEAD", "POST"])
def revert_page(request):
    requires(request, "vcs.view_commit")
    return rollback_page(request, "revert")


@admin.site.admin_view
@require_http_methods(["GET", "HEAD", "POST"])
def reset_page(request):
    requires(request, "vcs.view_branch")
    return rollback_page(request, "reset")


@admin.site.admin_view
@require_http_methods(["GET", "HEAD", "POST"])
def undo_page(request):
    requires(request, "vcs.view_liveobject")
    return rollback_page(request, "undo")


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
    path("merges/", merge_list, name="merges"),
    path("merges/new/", merge_new, name="merge-new"),
    path("merges/create/", merge_create, name="merge-create"),
    path("merges/<int:merge_id>/", merge_page, name="merge"),
    path(
        "merges/<int:merge_id>/conflicts/<int:conflict_id>/resolve/",
        merge_resolve,
        name="merge-resolve",
    ),
    path("merges/<int:merge_id>/complete/", merge_complete, name="merge-complete"),
    path("merges/<int:merge_id>/abort/", merge_abort, name="merge-abort"),
    path("revert/", revert_page, name="revert"),
    path("reset/", reset_page, name="reset"),
    path("undo/", undo_page, name="undo"),
    path("schema/", schema_page, name="schema"),
]
