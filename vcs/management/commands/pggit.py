"""``manage.py pggit <command>``: the engine from a shell, like git.

status | log [-n N] [--branch B] [--author A] [--object O] [--oneline] [--graph] [--all]
show [REF] [--stat] | diff FROM TO [--script] | blame OBJECT
branch [NAME [--from REF]] | branch -d NAME | branch -m OLD NEW | checkout BRANCH [--force]
commit -m MESSAGE [--author A] | schema [AT] | verify
merge SOURCE [INTO] [--strategy S] [-m MESSAGE] [--force] | merge --abort|--continue [--into B]
conflicts [MERGE_ID] | resolve CONFLICT_ID --source|--target|--custom SQL [--merge ID]
revert COMMIT [--dry-run] [--force] | reset BRANCH TO [--dry-run] [--force]
undo OBJECT... [--to REF] [--dry-run] [--force]

A refusal (conflicts left open, findings that stop a revert, a lock held...) exits non-zero.
Every command takes ``--json`` (the API's shapes, for scripts); output is coloured on a terminal
(Django's ``--no-color`` / ``--force-color`` override).
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, TextField, Value
from django.db.models.functions import Concat

from pggit_project.errors import DomainError
from vcs import selectors, services
from vcs.api import serializers as s
from vcs.console import graph
from vcs.console.diffs import unified
from vcs.models import Commit


def _name(change: dict) -> str:
    return ".".join(p for p in (change.get("schema_name"), change.get("object_name")) if p)


class Command(BaseCommand):
    help = "Git-like version control of this database's schema (status, log, diff, commit, ...)."

    def add_arguments(self, parser) -> None:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "--json", action="store_true", help="print JSON (the API's shapes) instead of text"
        )
        sub = parser.add_subparsers(dest="subcommand", required=True)

        def command(name: str, help_text: str):
            return sub.add_parser(name, help=help_text, parents=[common])

        command("status", "HEAD and the working changes")
        log = command("log", "commit history, newest first")
        log.add_argument("-n", type=int, default=20, help="how many commits (default 20)")
        log.add_argument("--branch", help="history of this ref (default HEAD)")
        log.add_argument("--author")
        log.add_argument("--object", help="only commits touching this object (key or schema.name)")
        log.add_argument("--oneline", action="store_true", help="one line per commit")
        log.add_argument(
            "--graph", action="store_true", help="draw the history's lines (all parents)"
        )
        log.add_argument("--all", action="store_true", help="with --graph: every branch")
        show = command("show", "one commit: its changes and their diffs")
        show.add_argument("ref", nargs="?", default="HEAD")
        show.add_argument("--stat", action="store_true", help="the changed objects only")
        diff = command("diff", "changes between two refs (WORKING = live schema)")
        diff.add_argument("from_ref", nargs="?", default="HEAD")
        diff.add_argument("to_ref", nargs="?", default="WORKING")
        diff.add_argument("--script", action="store_true", help="print the migration script")
        blame = command("blame", "which commit wrote each line of an object's definition")
        blame.add_argument("object", help="object key or schema.name")
        branch = command("branch", "list, create, delete (-d) or rename (-m) branches")
        branch.add_argument("names", nargs="*")
        branch.add_argument("--from", dest="from_ref", default="HEAD")
        branch.add_argument("-d", "--delete", action="store_true")
        branch.add_argument("-m", "--move", action="store_true")
        checkout = command("checkout", "migrate the live schema to a branch")
        checkout.add_argument("branch")
        checkout.add_argument("--force", action="store_true", help="discard working changes/data")
        commit = command("commit", "commit the working changes")
        commit.add_argument("-m", "--message", required=True)
        commit.add_argument("--author")
        schema = command("schema", "the full DDL at a ref or timestamp")
        schema.add_argument("at", nargs="?", default="HEAD")
        command("verify", "check the hash chain")
        merge = command("merge", "merge a branch (or ref) into a branch (default HEAD)")
        merge.add_argument("source", nargs="?")
        merge.add_argument("into", nargs="?", default="HEAD")
        merge.add_argument(
            "--strategy",
            default="ABORT_ON_CONFLICT",
            choices=["ABORT_ON_CONFLICT", "SOURCE_WINS", "TARGET_WINS", "MANUAL_REVIEW"],
        )
        merge.add_argument("-m", "--message")
        merge.add_argument("--force", action="store_true", help="destroy data HEAD would lose")
        merge.add_argument("--abort", action="store_true", help="abort the open merge")
        merge.add_argument(
            "--continue", dest="complete", action="store_true", help="complete the open merge"
        )
        merge.add_argument("--into", dest="into_branch", help="with --abort/--continue: target")
        conflicts = command("conflicts", "the conflicts of a merge (default: open)")
        conflicts.add_argument("merge_id", nargs="?", type=int)
        resolve = command("resolve", "resolve one conflict of the open merge")
        resolve.add_argument("conflict_id", type=int)
        side = resolve.add_mutually_exclusive_group(required=True)
        side.add_argument("--source", action="store_true", help="take the source's version")
        side.add_argument("--target", action="store_true", help="take the target's version")
        side.add_argument("--custom", metavar="SQL", help="DDL that defines the object")
        resolve.add_argument("--merge", dest="merge_id", type=int, help="default: the open merge")
        for name, text in (
            ("revert", "a new commit undoing a commit's changes"),
            ("reset", "a new commit giving a branch the tree of a commit or time"),
            ("undo", "a new commit setting objects back to their definition at a ref"),
        ):
            rollback = command(name, text)
            if name == "revert":
                rollback.add_argument("commit")
            elif name == "reset":
                rollback.add_argument("branch")
                rollback.add_argument("to", help="a ref or an ISO 8601 time")
            else:
                rollback.add_argument("objects", nargs="+", help="key or schema.name")
                rollback.add_argument("--to", default="HEAD~1", help="ref (default HEAD~1)")
            rollback.add_argument("--dry-run", action="store_true", help="show the DDL only")
            rollback.add_argument("--force", action="store_true", help="destroy data if needed")

    def handle(self, *args, subcommand: str, **options) -> None:
        self.actor = f"{getpass.getuser()} (manage.py)"
        self.as_json = options.get("json", False)
        handler = getattr(self, f"do_{subcommand}")
        try:
            handler(**options)
        except DomainError as exc:
            for finding in (exc.errors or {}).get("findings") or []:
                text = f"  {finding['level']:<5} {finding['check']}: {finding['message']}"
                (self.stderr if self.as_json else self.stdout).write(text)
            raise CommandError(f"{exc.detail} [{exc.code}]") from exc

    # --- output ---------------------------------------------------------------------------------
    def line(self, text: str = "", style=None) -> None:
        self.stdout.write(style(text) if style else text)

    def emit_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))

    def hash_text(self, value: str) -> str:
        return self.style.WARNING(value)

    def diff_lines(self, before: str | None, after: str | None, name: str) -> None:
        colours = {
            "file": self.style.MIGRATE_HEADING,
            "hunk": self.style.HTTP_INFO,
            "add": self.style.SUCCESS,
            "del": self.style.ERROR,
        }
        for kind, text in unified(before, after, name=name):
            style = colours.get(kind)
            self.line(text, style)

    def decorations(self) -> tuple[dict[str, list[str]], str]:
        return selectors.branch_heads(), selectors.head_branch_name()

    def decoration(self, commit_hash: str, heads, head_branch: str) -> str:
        names = sorted(heads.get(commit_hash, []), key=lambda n: (n != head_branch, n))
        if not names:
            return ""
        labels = [f"HEAD -> {n}" if n == head_branch else n for n in names]
        return " " + self.style.SQL_FIELD(f"({', '.join(labels)})")

    # --- commands -------------------------------------------------------------------------------
    def do_status(self, **_) -> None:
        status = selectors.status_get()
        if self.as_json:
            self.emit_json(s.StatusSerializer(status).data)
            return
        self.line(f"On branch {status['branch']} at {self.hash_text(status['commit'][:12])}")
        if status["clean"]:
            self.line("nothing to commit, schema equals HEAD", self.style.SUCCESS)
            return
        self.line(f"{status['working_change_count']} working change(s):")
        for change in status["working_changes"]:
            style = {"ADDED": self.style.SUCCESS, "REMOVED": self.style.ERROR}.get(
                change["change_type"], self.style.WARNING
            )
            kind = style(f"{change['change_type']:<9}")
            self.line(f"  {kind} {change['object_type']:<18} {_name(change)}")

    def _graph_commits(self, ref: str | None, show_all: bool, limit: int) -> list[Commit]:
        commits = list(Commit.objects.order_by("-committed_at", "-id"))
        if show_all:
            return commits[:limit]
        reachable = selectors.ancestors(ref or "HEAD")
        return [c for c in commits if c.hash in reachable][:limit]

    def do_log(
        self,
        n: int,
        branch: str | None,
        author: str | None,
        object: str | None,
        oneline: bool,
        graph: bool,
        all: bool,
        **_,
    ) -> None:
        if n < 1:
            raise CommandError("-n takes a positive number")
        if graph and (author or object):
            raise CommandError("--graph draws whole histories: leave out --author and --object")
        if all and not graph:
            raise CommandError("--all goes with --graph (log alone follows one ref)")
        if graph:
            commits = self._graph_commits(branch, all, n)
        else:
            commits = list(
                selectors.commit_queryset(
                    branch=branch or "HEAD", author=author, object_ref=object
                )[:n]
            )
        if self.as_json:
            self.emit_json(s.CommitSerializer(commits, many=True).data)
            return
        heads, head_branch = self.decorations()
        if graph:
            for prefix, node in self._text_graph(commits):
                if node is None:
                    self.line(prefix)
                    continue
                commit = node
                self.write_commit(commit, heads, head_branch, oneline, prefix=prefix + " ")
            return
        for commit in commits:
            self.write_commit(commit, heads, head_branch, oneline)

    def _text_graph(self, commits: list[Commit]):
        by_hash = {c.hash: c for c in commits}
        for prefix, node in graph.text_rows(graph.layout(commits)):
            yield prefix, (by_hash[node.hash] if node else None)

    def write_commit(self, commit: Commit, heads, head_branch, oneline: bool, prefix="") -> None:
        decoration = self.decoration(commit.hash, heads, head_branch)
        subject = commit.message.splitlines()[0] if commit.message else ""
        if oneline:
            self.line(f"{prefix}{self.hash_text(commit.short_hash)}{decoration} {subject}")
            return
        pad = prefix.replace("*", "|") if prefix else ""
        self.line(f"{prefix}{self.hash_text('commit ' + commit.hash)}{decoration}")
        if len(commit.parents) > 1:
            self.line(f"{pad}Merge: {' '.join(p[:12] for p in commit.parents)}")
        self.line(f"{pad}Author: {commit.author}   Date: {commit.committed_at.isoformat()}")
        for text in commit.message.splitlines() or [""]:
            self.line(f"{pad}    {text}")
        self.line(pad.rstrip())

    def do_show(self, ref: str, stat: bool, **_) -> None:
        commit = selectors.commit_resolve(ref)
        detail = selectors.commit_detail(commit)
        if self.as_json:
            data = dict(s.CommitSerializer(commit).data)
            data["changes"] = [
                {k: change[k] for k in ("object_type", "schema_name", "object_name", "change")}
                | {"before": change["before"], "after": change["after"]}
                for change in detail["changes"]
            ]
            data["script"] = detail["script"]
            self.emit_json(data)
            return
        heads, head_branch = self.decorations()
        self.line(
            self.hash_text(f"commit {commit.hash}")
            + self.decoration(commit.hash, heads, head_branch)
        )
        self.line(f"Parents: {' '.join(p[:12] for p in commit.parents) or '(root)'}")
        self.line(
            f"Branch: {commit.branch}   Author: {commit.author}   Date: {commit.committed_at}"
        )
        for text in commit.message.splitlines() or [""]:
            self.line(f"    {text}")
        self.line()
        for change in detail["changes"]:
            name = _name(change)
            self.line(f"  {change['change']:<9} {change['object_type']:<18} {name}")
        if stat:
            return
        for change in detail["changes"]:
            self.line()
            self.diff_lines(change["before"], change["after"], change["object_key"])

    def do_diff(self, from_ref: str, to_ref: str, script: bool, **_) -> None:
        result = selectors.diff_get(from_ref=from_ref, to_ref=to_ref)
        if self.as_json:
            self.emit_json(s.DiffSerializer(result).data)
            return
        if script:
            self.line(result["script"])
            return
        if not result["changes"]:
            self.line(f"no differences between {from_ref} and {to_ref}")
        for change in result["changes"]:
            self.line(f"{change['change']:<9} {change['object_type']:<18} {_name(change)}")
        for change in result["changes"]:
            self.line()
            self.diff_lines(change["before"], change["after"], _name(change))

    def do_blame(self, object: str, **_) -> None:
        qualified = Concat("schema_name", Value("."), "object_name", output_field=TextField())
        matches = list(
            selectors.object_queryset()
            .annotate(qualified=qualified)
            .filter(Q(object_key=object) | Q(qualified=object))
        )
        if not matches:
            raise CommandError(f"no tracked object {object!r} (see: manage.py pggit status)")
        if len(matches) > 1:
            keys = ", ".join(m.object_key for m in matches)
            raise CommandError(f"{object!r} names several objects ({keys}): give the key")
        obj = matches[0]
        rows = selectors.object_blame(obj.object_key, selectors.object_definition(obj))
        if self.as_json:
            self.emit_json(
                {
                    "object": obj.object_key,
                    "lines": [
                        {
                            "line": row["line"],
                            "commit": row["commit"]["commit_hash"] if row["commit"] else None,
                            "author": row["commit"]["author"] if row["commit"] else None,
                            "committed_at": row["commit"]["committed_at"]
                            if row["commit"]
                            else None,
                        }
                        for row in rows
                    ],
                }
            )
            return
        width = max((len(r["commit"]["author"]) for r in rows if r["commit"]), default=12)
        for row in rows:
            origin = row["commit"]
            if origin:
                who = (
                    f"{self.hash_text(origin['commit_hash'][:8])} "
                    f"({origin['author']:<{width}} {origin['committed_at']:%Y-%m-%d})"
                )
            else:
                who = f"{'0' * 8} ({'not committed':<{width}} {'':10})"
            self.line(f"{who} {row['line']}")

    def do_branch(self, names: list[str], from_ref: str, delete: bool, move: bool, **_) -> None:
        if delete:
            if len(names) != 1:
                raise CommandError("branch -d takes one branch name")
            services.branch_delete(name=names[0], actor=self.actor)
            self.done({"deleted": names[0]}, f"Deleted branch {names[0]}")
        elif move:
            if len(names) != 2:
                raise CommandError("branch -m takes the old and the new name")
            services.branch_update(name=names[0], new_name=names[1], actor=self.actor)
            self.done(self.branch_data(names[1]), f"Renamed branch {names[0]} to {names[1]}")
        elif names:
            if len(names) != 1:
                raise CommandError("branch takes one name to create")
            services.branch_create(name=names[0], from_ref=from_ref, actor=self.actor)
            self.done(self.branch_data(names[0]), f"Created branch {names[0]} from {from_ref}")
        else:
            head_id = selectors.head_branch_id()
            branches = list(selectors.branch_queryset())
            if self.as_json:
                context = {"head_branch_id": head_id}
                self.emit_json(s.BranchSerializer(branches, many=True, context=context).data)
                return
            for branch in branches:
                current = branch.id == head_id
                marker = "*" if current else " "
                name = self.style.SUCCESS(f"{branch.name:<30}") if current else f"{branch.name:<30}"
                protected = " (protected)" if branch.protected else ""
                self.line(f"{marker} {name} {self.hash_text(branch.head_commit[:12])}{protected}")

    def branch_data(self, name: str) -> dict:
        branch = selectors.branch_queryset().get(name=name)
        context = {"head_branch_id": selectors.head_branch_id()}
        return s.BranchSerializer(branch, context=context).data

    def quiet_line(self, text: str, style=None) -> None:
        """A progress or result line of the text output (nothing with ``--json``)."""
        if not self.as_json:
            self.line(text, style)

    def done(self, data: Any, text: str) -> None:
        if self.as_json:
            self.emit_json(data)
        else:
            self.line(text, self.style.SUCCESS)

    def do_checkout(self, branch: str, force: bool, **_) -> None:
        if not self.as_json:
            self.line(f"Checking out {branch}: planning and applying the migration ...")
        result = services.branch_checkout(name=branch, force=force, actor=self.actor)
        if self.as_json:
            self.emit_json(s.CheckoutResultSerializer(result).data)
            return
        for number, statement in enumerate(result["statements"], start=1):
            self.line(f"  [{number}/{len(result['statements'])}] {statement.splitlines()[0]}")
        self.line(
            f"Switched to branch {result['branch']} at {result['commit'][:12]} "
            f"({len(result['statements'])} statement(s))",
            self.style.SUCCESS,
        )

    def do_commit(self, message: str, author: str | None, **_) -> None:
        commit_hash = services.commit_create(message=message, author=author, actor=self.actor)
        if self.as_json:
            commit = selectors.commit_resolve(commit_hash)
            self.emit_json(s.CommitSerializer(commit).data)
            return
        self.line(f"[{commit_hash[:12]}] {message}", self.style.SUCCESS)

    def do_schema(self, at: str, **_) -> None:
        ddl = selectors.schema_at(at)
        if self.as_json:
            self.emit_json(s.SchemaSerializer({"at": at, "ddl": ddl}).data)
            return
        self.line(ddl)

    def do_verify(self, **_) -> None:
        result = selectors.verify()
        if self.as_json:
            self.emit_json(s.VerifySerializer(result).data)
            if not result["ok"]:
                raise CommandError(f"hash chain broken in {len(result['breaks'])} place(s)")
            return
        if result["ok"]:
            self.line(f"ok: {result['checked']} commit(s), hash chain intact", self.style.SUCCESS)
            return
        for item in result["breaks"]:
            self.line(f"BREAK {item['commit'][:12]}: {item['reason']}", self.style.ERROR)
        raise CommandError(f"hash chain broken in {len(result['breaks'])} place(s)")

    # --- merge ----------------------------------------------------------------------------------

    def open_merge_id(self, into: str | None) -> int:
        merge = selectors.open_merge(into or "HEAD")
        if merge is None:
            raise CommandError(f"no open merge into {into or 'HEAD'}")
        return merge.id

    def show_conflicts(self, merge_id: int) -> None:
        for item in selectors.merge_conflicts(merge_id):
            name = ".".join(p for p in (item["schema_name"], item["object_name"]) if p)
            state = item["resolution"] or "unresolved"
            self.line(
                f"  #{item['id']:<3} {item['type']:<14} {item['severity']:<6} "
                f"{item['object_type']:<18} {name:<40} {state}"
            )
            self.line(f"       {item['detail']}")

    def report_merge(self, merge: dict) -> None:
        status = merge["status"]
        if self.as_json:
            self.emit_json(s.MergeSerializer(merge).data)
        if status == "completed":
            self.quiet_line(
                f"Merged {merge['source']} into {merge['target']}: "
                f"commit {merge['result_commit'][:12]}",
                self.style.SUCCESS,
            )
        elif status == "fast_forward":
            self.quiet_line(
                f"Fast-forward {merge['target']} to {merge['result_commit'][:12]}",
                self.style.SUCCESS,
            )
        elif status == "up_to_date":
            self.quiet_line(f"Already up to date: {merge['target']} has {merge['source']}")
        else:
            if not self.as_json:
                self.line(
                    f"Merge {merge['id']} of {merge['source']} into {merge['target']}: "
                    f"{merge['conflict_count']} conflict(s)",
                    self.style.ERROR,
                )
                self.show_conflicts(merge["id"])
            if status == "conflicted":
                raise CommandError(
                    f"merge {merge['id']} is open: resolve each conflict "
                    "(pggit resolve ID --source|--target|--custom SQL), then pggit merge --continue"
                    " (or pggit merge --abort)"
                )
            raise CommandError(
                f"merge {merge['id']} stopped ({merge['strategy']}): nothing was applied; "
                "merge again with --strategy MANUAL_REVIEW, SOURCE_WINS or TARGET_WINS"
            )

    def do_merge(
        self,
        source: str | None,
        into: str,
        strategy: str,
        message: str | None,
        force: bool,
        abort: bool,
        complete: bool,
        into_branch: str | None,
        **_,
    ) -> None:
        if abort or complete:
            if abort and complete:
                raise CommandError("give one of --abort and --continue")
            target = into_branch or (source if source else None)
            merge_id = self.open_merge_id(target)
            if abort:
                merge = services.merge_abort(merge_id=merge_id, actor=self.actor)
                self.done(
                    s.MergeSerializer(merge).data,
                    f"Aborted merge {merge['id']}; nothing was applied",
                )
                return
            self.quiet_line(f"Completing merge {merge_id} ...")
            self.report_merge(
                services.merge_complete(merge_id=merge_id, force=force, actor=self.actor)
            )
            return
        if not source:
            raise CommandError("merge needs a SOURCE branch (or --abort / --continue)")
        self.quiet_line(f"Merging {source} into {into} ({strategy}) ...")
        self.report_merge(
            services.merge_create(
                source=source,
                target=into,
                strategy=strategy,
                message=message,
                force=force,
                actor=self.actor,
            )
        )

    def do_conflicts(self, merge_id: int | None, **_) -> None:
        merge_id = merge_id or self.open_merge_id(None)
        merge = selectors.merge_get(merge_id)
        if self.as_json:
            conflicts = selectors.merge_conflicts(merge_id)
            self.emit_json(s.ConflictSerializer(conflicts, many=True).data)
            return
        self.line(
            f"Merge {merge.id}: {merge.source} into {merge.target} ({merge.status}), "
            f"{merge.conflict_count} conflict(s)"
        )
        self.show_conflicts(merge_id)

    def do_resolve(
        self,
        conflict_id: int,
        source: bool,
        target: bool,
        custom: str | None,
        merge_id: int | None,
        **_,
    ) -> None:
        merge_id = merge_id or self.open_merge_id(None)
        resolution = "SOURCE" if source else "TARGET" if target else "CUSTOM"
        result = services.merge_resolve(
            merge_id=merge_id,
            conflict_id=conflict_id,
            resolution=resolution,
            custom_definition=custom,
            actor=self.actor,
        )
        self.done(
            s.ResolveResultSerializer(result).data,
            f"Resolved #{conflict_id} ({result['object_key']}) as {resolution}; "
            f"{result['remaining']} conflict(s) left",
        )

    # --- rollback -------------------------------------------------------------------------------

    def report_rollback(self, name: str, result: dict) -> None:
        if self.as_json:
            self.emit_json(s.RollbackResultSerializer(result).data)
            return
        for finding in result["findings"]:
            self.line(f"  {finding['level']:<5} {finding['check']}: {finding['message']}")
        if result["status"] == "dry_run":
            self.line(result["script"])
            self.line(f"Dry run of {name}: nothing was changed", self.style.WARNING)
            return
        self.line(f"{name.capitalize()} committed: {result['commit'][:12]}", self.style.SUCCESS)

    def do_revert(self, commit: str, dry_run: bool, force: bool, **_) -> None:
        result = services.revert(commit=commit, dry_run=dry_run, force=force, actor=self.actor)
        self.report_rollback("revert", result)

    def do_reset(self, branch: str, to: str, dry_run: bool, force: bool, **_) -> None:
        result = services.reset(
            branch=branch, to=to, dry_run=dry_run, force=force, actor=self.actor
        )
        self.report_rollback("reset", result)

    def do_undo(self, objects: list[str], to: str, dry_run: bool, force: bool, **_) -> None:
        result = services.undo(
            objects=objects, to=to, dry_run=dry_run, force=force, actor=self.actor
        )
        self.report_rollback("undo", result)
