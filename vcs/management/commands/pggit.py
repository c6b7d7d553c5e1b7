"""``manage.py pggit <command>``: the engine from a shell, like git.

status | log [-n N] [--branch B] [--author A] [--object O] | show [REF] | diff FROM TO [--script]
branch [NAME [--from REF]] | branch -d NAME | branch -m OLD NEW | checkout BRANCH [--force]
commit -m MESSAGE [--author A] | schema [AT] | verify
merge SOURCE [INTO] [--strategy S] [-m MESSAGE] [--force] | merge --abort|--continue [--into B]
conflicts [MERGE_ID] | resolve CONFLICT_ID --source|--target|--custom SQL [--merge ID]
revert COMMIT [--dry-run] [--force] | reset BRANCH TO [--dry-run] [--force]
undo OBJECT... [--to REF] [--dry-run] [--force]

A refusal (conflicts left open, findings that stop a revert, a lock held...) exits non-zero.
"""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from pggit_project.errors import DomainError
from vcs import selectors, services


class Command(BaseCommand):
    help = "Git-like version control of this database's schema (status, log, diff, commit, ...)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("status", help="HEAD and the working changes")
        log = sub.add_parser("log", help="commit history, newest first")
        log.add_argument("-n", type=int, default=20, help="how many commits (default 20)")
        log.add_argument("--branch", help="first-parent history of this ref (default HEAD)")
        log.add_argument("--author")
        log.add_argument("--object", help="only commits touching this object (key or schema.name)")
        show = sub.add_parser("show", help="one commit and its changes")
        show.add_argument("ref", nargs="?", default="HEAD")
        diff = sub.add_parser("diff", help="changes between two refs (WORKING = live schema)")
        diff.add_argument("from_ref", nargs="?", default="HEAD")
        diff.add_argument("to_ref", nargs="?", default="WORKING")
        diff.add_argument("--script", action="store_true", help="print the migration script")
        branch = sub.add_parser("branch", help="list, create, delete (-d) or rename (-m) branches")
        branch.add_argument("names", nargs="*")
        branch.add_argument("--from", dest="from_ref", default="HEAD")
        branch.add_argument("-d", "--delete", action="store_true")
        branch.add_argument("-m", "--move", action="store_true")
        checkout = sub.add_parser("checkout", help="migrate the live schema to a branch")
        checkout.add_argument("branch")
        checkout.add_argument("--force", action="store_true", help="discard working changes/data")
        commit = sub.add_parser("commit", help="commit the working changes")
        commit.add_argument("-m", "--message", required=True)
        commit.add_argument("--author")
        schema = sub.add_parser("schema", help="the full DDL at a ref or timestamp")
        schema.add_argument("at", nargs="?", default="HEAD")
        sub.add_parser("verify", help="check the hash chain")
        merge = sub.add_parser("merge", help="merge a branch (or ref) into a branch (default HEAD)")
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
        conflicts = sub.add_parser("conflicts", help="the conflicts of a merge (default: open)")
        conflicts.add_argument("merge_id", nargs="?", type=int)
        resolve = sub.add_parser("resolve", help="resolve one conflict of the open merge")
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
            rollback = sub.add_parser(name, help=text)
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
        handler = getattr(self, f"do_{subcommand}")
        try:
            handler(**options)
        except DomainError as exc:
            for finding in (exc.errors or {}).get("findings") or []:
                self.line(f"  {finding['level']:<5} {finding['check']}: {finding['message']}")
            raise CommandError(f"{exc.detail} [{exc.code}]") from exc

    def line(self, text: str = "", style=None) -> None:
        self.stdout.write(style(text) if style else text)

    def do_status(self, **_) -> None:
        status = selectors.status_get()
        self.line(f"On branch {status['branch']} at {status['commit'][:12]}")
        if status["clean"]:
            self.line("nothing to commit, schema equals HEAD", self.style.SUCCESS)
            return
        self.line(f"{len(status['working_changes'])} working change(s):")
        for change in status["working_changes"]:
            name = ".".join(p for p in (change["schema_name"], change["object_name"]) if p)
            self.line(f"  {change['change_type']:<9} {change['object_type']:<18} {name}")

    def do_log(
        self, n: int, branch: str | None, author: str | None, object: str | None, **_
    ) -> None:
        if n < 1:
            raise CommandError("-n takes a positive number")
        commits = selectors.commit_queryset(
            branch=branch or "HEAD", author=author, object_ref=object
        )
        for commit in commits[:n]:
            self.line(f"commit {commit.hash}", self.style.WARNING)
            self.line(f"Author: {commit.author}   Date: {commit.committed_at.isoformat()}")
            self.line(f"    {commit.message}\n")

    def do_show(self, ref: str, **_) -> None:
        commit = selectors.commit_resolve(ref)
        self.line(f"commit {commit.hash}", self.style.WARNING)
        self.line(f"Parents: {' '.join(p[:12] for p in commit.parents) or '(root)'}")
        self.line(
            f"Branch: {commit.branch}   Author: {commit.author}   Date: {commit.committed_at}"
        )
        self.line(f"    {commit.message}\n")
        for change in selectors.commit_changes(commit):
            name = ".".join(p for p in (change["schema_name"], change["object_name"]) if p)
            self.line(f"  {change['change']:<9} {change['object_type']:<18} {name}")

    def do_diff(self, from_ref: str, to_ref: str, script: bool, **_) -> None:
        result = selectors.diff_get(from_ref=from_ref, to_ref=to_ref)
        if script:
            self.line(result["script"])
            return
        if not result["changes"]:
            self.line(f"no differences between {from_ref} and {to_ref}")
        for change in result["changes"]:
            name = ".".join(p for p in (change["schema_name"], change["object_name"]) if p)
            self.line(f"{change['change']:<9} {change['object_type']:<18} {name}")

    def do_branch(self, names: list[str], from_ref: str, delete: bool, move: bool, **_) -> None:
        if delete:
            if len(names) != 1:
                raise CommandError("branch -d takes one branch name")
            services.branch_delete(name=names[0], actor=self.actor)
            self.line(f"Deleted branch {names[0]}", self.style.SUCCESS)
        elif move:
            if len(names) != 2:
                raise CommandError("branch -m takes the old and the new name")
            services.branch_update(name=names[0], new_name=names[1], actor=self.actor)
            self.line(f"Renamed branch {names[0]} to {names[1]}", self.style.SUCCESS)
        elif names:
            if len(names) != 1:
                raise CommandError("branch takes one name to create")
            services.branch_create(name=names[0], from_ref=from_ref, actor=self.actor)
            self.line(f"Created branch {names[0]} from {from_ref}", self.style.SUCCESS)
        else:
            head_id = selectors.head_branch_id()
            for branch in selectors.branch_queryset():
                marker = "*" if branch.id == head_id else " "
                self.line(f"{marker} {branch.name:<30} {branch.head_commit[:12]}")

    def do_checkout(self, branch: str, force: bool, **_) -> None:
        self.line(f"Checking out {branch}: planning and applying the migration ...")
        result = services.branch_checkout(name=branch, force=force, actor=self.actor)
        for number, statement in enumerate(result["statements"], start=1):
            self.line(f"  [{number}/{len(result['statements'])}] {statement.splitlines()[0]}")
        self.line(
            f"Switched to branch {result['branch']} at {result['commit'][:12]} "
            f"({len(result['statements'])} statement(s))",
            self.style.SUCCESS,
        )

    def do_commit(self, message: str, author: str | None, **_) -> None:
        commit_hash = services.commit_create(message=message, author=author, actor=self.actor)
        self.line(f"[{commit_hash[:12]}] {message}", self.style.SUCCESS)

    def do_schema(self, at: str, **_) -> None:
        self.line(selectors.schema_at(at))

    def do_verify(self, **_) -> None:
        result = selectors.verify()
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
        if status == "completed":
            self.line(
                f"Merged {merge['source']} into {merge['target']}: "
                f"commit {merge['result_commit'][:12]}",
                self.style.SUCCESS,
            )
        elif status == "fast_forward":
            self.line(
                f"Fast-forward {merge['target']} to {merge['result_commit'][:12]}",
                self.style.SUCCESS,
            )
        elif status == "up_to_date":
            self.line(f"Already up to date: {merge['target']} has {merge['source']}")
        else:
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
                self.line(f"Aborted merge {merge['id']}; nothing was applied", self.style.SUCCESS)
                return
            self.line(f"Completing merge {merge_id} ...")
            self.report_merge(
                services.merge_complete(merge_id=merge_id, force=force, actor=self.actor)
            )
            return
        if not source:
            raise CommandError("merge needs a SOURCE branch (or --abort / --continue)")
        self.line(f"Merging {source} into {into} ({strategy}) ...")
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
        self.line(
            f"Resolved #{conflict_id} ({result['object_key']}) as {resolution}; "
            f"{result['remaining']} conflict(s) left",
            self.style.SUCCESS,
        )

    # --- rollback -------------------------------------------------------------------------------

    def report_rollback(self, name: str, result: dict) -> None:
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
