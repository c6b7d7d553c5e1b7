"""Constants of the alerts app."""

# The source of the alerts fired by POST /api/v1/alerts/test.
TEST_ALERT_SOURCE = "test"
# Matcher names a silence accepts besides "details.<key>".
SILENCE_MATCHER_NAMES = ("fingerprint", "source", "severity", "title")
SILENCE_MATCHER_DETAILS_PREFIX = "details."
# Largest number of ids one batch acknowledge takes.
MAX_BATCH_IDS = 1000
# Occurrences shown with an alert (detail endpoint, admin page).
OCCURRENCE_HISTORY_LIMIT = 50
# Largest id PostgreSQL's bigint holds: larger path ids are unknown ids, not errors.
MAX_BIGINT = 2**63 - 1
# Default window of the performance summary and trend charts.
PERFORMANCE_WINDOW_HOURS = 24
TREND_WINDOW_HOURS = 24 * 7
# How many recent events the dashboard shows.
DASHBOARD_RECENT_EVENTS = 10
DASHBOARD_RECENT_ALERTS = 5
