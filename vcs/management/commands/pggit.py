"""``manage.py pggit <command>``: the engine from a shell, like git.

status | log [-n N] [--branch B] [--author A] [--object O] | show [REF] | diff FROM TO [--script]
branch [NAME [--from REF]] | branch -d NAME | branch -m OLD NEW | checkout BRANCH [--force]
commit -m MESSAGE [--author A] | schema [AT] | verify
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

    def handle(self, *args, subcommand: str, **options) -> None:
        self.actor = f"{getpass.getuser()} (manage.py)"
        handler = getattr(self, f"do_{subcommand}")
        try:
            handler(**options)
        except DomainError as exc:
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
