"""Engine tests: scratch databases with the whole engine installed (see enginedb.py)."""

from tests.engine.enginedb import engine_db, engine_template  # noqa: F401
