"""REST API of the vcs app (mounted under ``/api/v1/`` by ``pggit_project.urls``)."""
