"""Choices of the version-control domain."""

CHANGE_CHOICES = [("ADDED", "added"), ("MODIFIED", "modified"), ("REMOVED", "removed")]
