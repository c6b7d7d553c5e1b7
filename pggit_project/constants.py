"""Project-wide constants."""

# The PostgreSQL schema holding Django's own tables (auth, admin, sessions and the console apps'
# managed models). The engine's configuration excludes it from tracking
# (sql/schema/002_foundation.sql).
CONSOLE_SCHEMA = "pggit_console"

# The database created on the embedded PostgreSQL server when DATABASE_URL is not set.
EMBEDDED_DATABASE_NAME = "pggit"

# X-Request-ID values accepted from clients: short, printable, no spaces.
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"

# Pagination bounds (docs/api.md, Conventions).
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
