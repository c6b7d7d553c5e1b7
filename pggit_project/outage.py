"""Whether this process has lately failed to reach the database.

Any part of the process that fails to reach PostgreSQL (an API request answered 503, a health
probe, the early hit path reading user states) records it here; a successful health probe or
user-state read records success. The early hit path (``cachemgmt.hitpath``), which answers cached
reads without a query, reads the user's state from the database again while the database is
failing: that read decides whether the hit is served or the ordinary path answers (503 while the
database is down).
"""

from __future__ import annotations

import threading
import time

# A failure counts for at most this long when nothing succeeded since.
FAILURE_WINDOW_SECONDS = 60.0


class Reachability:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failed_at: float | None = None
        self.succeeded_at: float | None = None
        self.error = ""

    def record_failure(self, exc: BaseException) -> None:
        with self._lock:
            self.failed_at = time.monotonic()
            self.error = f"{type(exc).__name__}: {str(exc).strip()[:200]}"

    def record_success(self) -> None:
        with self._lock:
            self.succeeded_at = time.monotonic()

    def failing(self, window: float = FAILURE_WINDOW_SECONDS) -> bool:
        """The last outcome was a failure, less than ``window`` seconds ago."""
        with self._lock:
            failed_at, succeeded_at = self.failed_at, self.succeeded_at
        return (
            failed_at is not None
            and (succeeded_at is None or succeeded_at < failed_at)
            and time.monotonic() - failed_at < window
        )


database_reachability = Reachability()
