"""REST API of the webhooks app (mounted under ``/api/v1/`` by ``pggit_project.urls``)."""
