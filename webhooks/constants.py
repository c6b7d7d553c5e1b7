"""Constants of the webhooks app (defaults of the settings live in ``webhooks.conf``)."""

# Every event type a webhook endpoint may subscribe to (docs/realtime.md); "*" means all of them.
from pggit_project.events import EVENT_TYPES  # noqa: F401 (re-exported)

ALL_EVENTS = "*"

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
SECRET_BYTES = 32
SECRET_HINT_CHARS = 4

# The NOTIFY channel the fan-out trigger announces new deliveries on
# (sql/engine/webhooks/webhooks.sql).
DELIVERY_CHANNEL = "pggit_webhook_deliveries"

# Attempt bookkeeping.
RESPONSE_EXCERPT_CHARS = 1024
ERROR_CHARS = 500
REDACTED = "[redacted]"
USER_AGENT = "pgGit-Webhooks/1"

# Worker defaults (overridable per process with the command's options).
WORKER_CONCURRENCY = 64
# attempts in flight to one endpoint, across all workers (half a worker's slots: an endpoint whose
# attempts hang until the timeout leaves the other half to the rest)
WORKER_PER_ENDPOINT = 32
WORKER_POLL_SECONDS = 1.0
WORKER_HEARTBEAT_SECONDS = 5.0
# A claim's lease must outlast the request timeout plus recording; after it a crashed worker's
# deliveries are claimed again.
WORKER_LEASE_MARGIN_SECONDS = 30.0
WORKER_SHUTDOWN_GRACE_SECONDS = 20.0
WORKER_RECORD_BATCH = 200

# /health/deep: a worker whose last heartbeat is older than this is considered gone.
WORKER_STALE_SECONDS = 60
# ... and a due delivery waiting longer than this makes the check degraded.
BACKLOG_LAG_DEGRADED_SECONDS = 300

# The longest Retry-After honoured (a receiver cannot park a delivery for days).
MAX_RETRY_AFTER_SECONDS = 24 * 3600
