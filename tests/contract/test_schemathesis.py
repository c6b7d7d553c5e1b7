"""Contract testing: schemathesis drives every operation of docs/openapi.yaml against a live
server (uvicorn on 127.0.0.1, its own migrated database), authenticated as staff, with a bounded
number of examples per operation, and fails on any 5xx, any status the schema does not document
and any body that does not conform to the schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SCHEMA = ROOT / "docs" / "openapi.yaml"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
MAX_EXAMPLES = int(os.environ.get("PGGIT_CONTRACT_EXAMPLES", "10"))

pytestmark = [pytest.mark.contract, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contract_server(django_db_blocker, tmp_path):
    from tests.cachemgmt.live import create_live_database, drop_live_database, start_server

    if not os.environ.get("DATABASE_URL"):
        pytest.skip("the contract test needs DATABASE_URL (a server process of its own)")
    with django_db_blocker.unblock():
        database = create_live_database("contract")
    env = {**database.env, "WEBHOOK_ALLOW_PRIVATE_TARGETS": "0", "DJANGO_LOG_LEVEL": "WARNING"}
    server = start_server(env, tmp_path / "server.log")
    yield server, database
    server.stop()
    with django_db_blocker.unblock():
        drop_live_database(database)


def seed(server, database) -> dict[str, object]:
    """Objects for the operations with an id in their path to reach (a value per path pattern):
    a tracked table and a commit, an alert, a silence, a webhook and a delivery to it."""
    with database.connect() as connection:
        connection.execute("CREATE TABLE public.contract_target (id int PRIMARY KEY, note text)")
    with server.client() as client:

        def created(path: str, body: dict) -> dict:
            response = client.post(path, json=body)
            assert response.status_code in (200, 201, 202), (path, response.text)
            return response.json()

        commit = created("/api/v1/commits", {"message": "contract seed"})
        alert = created("/api/v1/alerts/test", {})
        silence = created(
            "/api/v1/alert-silences",
            {"matchers": [{"name": "source", "value": "x"}], "ends_at": "2099-01-01T00:00:00Z"},
        )
        webhook = created(
            "/api/v1/webhooks", {"name": "contract", "url": "https://hooks.example.com/contract"}
        )
        created(f"/api/v1/webhooks/{webhook['id']}/test", {})
        delivery = client.get("/api/v1/webhook-deliveries").json()["items"][0]
        metric = client.get("/api/v1/performance/metrics").json()["items"][0]
    return {
        r"^/api/v1/alert-silences/\{id\}": {"id": silence["id"]},
        r"^/api/v1/alerts/\{id\}": {"id": alert["id"]},
        r"^/api/v1/commits/\{ref\}": {"ref": commit["hash"]},
        r"^/api/v1/objects/\{object_key\}": {"object_key": "table:public.contract_target"},
        r"^/api/v1/performance/metrics/\{id\}": {"id": metric["id"]},
        r"^/api/v1/webhook-deliveries/\{id\}": {"id": delivery["id"]},
        r"^/api/v1/webhooks/\{id\}": {"id": webhook["id"]},
    }


def config_file(path: Path, seeded: dict[str, dict[str, object]]) -> Path:
    lines = []
    for pattern, parameters in seeded.items():
        values = ", ".join(f"{name} = {json.dumps(value)}" for name, value in parameters.items())
        lines += ["[[operations]]", f"include-path-regex = {json.dumps(pattern)}"]
        lines += [f"parameters = {{ {values} }}", ""]
    path.write_text("\n".join(lines))
    return path


def test_every_operation_keeps_to_the_schema(contract_server, tmp_path):
    config = config_file(tmp_path / "schemathesis.toml", seed(*contract_server))
    server, _ = contract_server
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        str(SCHEMA),
        "--url",
        server.base_url,
        "--header",
        f"Authorization: Bearer {server.token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--seed",
        "17",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
    ]
    print("running:", " ".join(command[:4]), "...", flush=True)
    # in tmp_path: schemathesis keeps a cache directory (.schemathesis) where it runs
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    output = result.stdout + result.stderr
    print(output[-6000:])
    assert result.returncode == 0, (
        f"schemathesis found failures (exit {result.returncode}):\n{output[-20000:]}\n"
        f"server log:\n{server.log()[-5000:]}"
    )
