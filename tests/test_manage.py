"""manage.py: a configuration error is one clear line, not a traceback."""

import os
import subprocess
import sys

from django.conf import settings


def test_manage_py_without_the_secrets_says_what_to_set_in_one_line(tmp_path):
    # given: production mode (no DJANGO_DEBUG) and neither secret set
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WEBHOOK_"))}
    env.update(PGGIT_DATA_DIR=str(tmp_path))
    # when: a developer runs a pgGit command
    result = subprocess.run(
        [sys.executable, "manage.py", "pggit", "status"],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    # then: exit status 2 and exactly one line naming the variable and the way out
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pgGit is not configured: DJANGO_SECRET_KEY is not set.")
    assert "DJANGO_DEBUG=1" in lines[0]
    assert "Traceback" not in result.stderr
