"""The development process runner starts processes together and stops them together."""

import sys
import time

from pggit_project.processes import Process, dev_processes, run_together


def test_when_one_process_exits_the_others_are_stopped_and_its_code_returned():
    started = time.monotonic()
    code = run_together(
        [
            Process("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"]),
            Process("failing", [sys.executable, "-c", "import sys; sys.exit(3)"]),
        ]
    )
    assert code == 3
    assert time.monotonic() - started < 15


def test_dev_processes_run_uvicorn_on_the_given_address(tmp_path):
    web = dev_processes(bind="127.0.0.1", port=8123, manage_py=tmp_path / "manage.py")[0]
    assert web.name == "web"
    assert web.argv[1:] == [
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
        "--no-access-log",
        "--no-proxy-headers",
        "--lifespan",
        "off",
        "pggit_project.asgi:application",
    ]
