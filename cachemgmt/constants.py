"""Constants of the cache: key layout, bounds of the in-process level, failure handling."""

# Every Redis key the cache writes starts with this (generations, entries, counters, indexes).
KEY_PREFIX = "pggit:cache:"
# Bump this when the stored entry format changes: old entries then simply stop matching.
ENTRY_FORMAT_VERSION = "1"

# In-process level (L1): at most this many entries and this many bytes of bodies, least recently
# used evicted first. Each entry also expires at its own deadline (the TTL of its key).
L1_MAX_ENTRIES = 2000
L1_MAX_BYTES = 64 * 1024 * 1024

# Redis failure handling: after a failure, Redis is not tried again for this long (requests go to
# the database meanwhile), and the failure is logged at most once per LOG interval.
REDIS_RETRY_SECONDS = 1.0
REDIS_ERROR_LOG_SECONDS = 60.0

# Header telling clients (and tests, and benchmarks) how a cached endpoint answered.
CACHE_STATUS_HEADER = "X-Cache"
HIT_L1 = "hit-l1"
HIT_L2 = "hit-l2"
MISS = "miss"
BYPASS = "bypass"  # the cache could not be consulted safely (Redis unreachable): database answered

# Response headers never stored with an entry: they are per request or added again on every answer.
UNSTORED_HEADERS = frozenset(
    {"x-request-id", "vary", "allow", "set-cookie", "x-cache", "content-length", "date"}
)

# NOTIFY channel carrying namespace invalidations between processes when there is no Redis.
INVALIDATE_CHANNEL = "pggit_cache"
EVENTS_CHANNEL = "pggit_events"
