"""pgGit console: the Django project (settings, URLs, ASGI/WSGI and the shared API plumbing)."""

__version__ = "0.1.0"
