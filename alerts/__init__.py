"""pgGit alerts: performance monitoring read side, the alert lifecycle, WebSocket consumers and
the live dashboard."""
