"""REST API of the alerts app (mounted under ``/api/v1/`` by ``pggit_project.urls``)."""
