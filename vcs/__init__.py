"""pgGit vcs: the version-control domain: unmanaged models over the pggit schema, services
calling the SQL engine, its REST API, admin and ``manage.py pggit``."""
