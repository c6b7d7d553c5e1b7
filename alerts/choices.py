"""Choices of the alerts app (they mirror the CHECK constraints of sql/schema/006_alerts.sql)."""

from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    SILENCED = "silenced", "Silenced"


class MatcherOp(models.TextChoices):
    EQUAL = "=", "equals"
    NOT_EQUAL = "!=", "does not equal"
    REGEX = "=~", "matches the regular expression"
    NOT_REGEX = "!~", "does not match the regular expression"


# Open = not resolved: what "active" means in the stats and the dashboard.
OPEN_STATUSES = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED, AlertStatus.SILENCED)
