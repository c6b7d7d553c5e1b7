"""REST API of the cachemgmt app (mounted under ``/api/v1/`` by ``pggit_project.urls``)."""
