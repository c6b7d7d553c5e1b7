"""Answers that stay small at scale (docs/api.md, "Version control"): the commit list and a
commit carry a ``change_count``, their changes are the paged list ``/commits/{ref}/changes``;
the status carries ``working_change_count`` and the first page of the working changes,
``/status/changes`` pages them all. Both lists follow the page conventions of every other list
(tests/test_pagination.py): the same parameters, bounds, errors and body."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pggit_project.constants import DEFAULT_PAGE_SIZE

pytestmark = pytest.mark.django_db

COMMIT_FIELDS = {
    "hash",
    "short_hash",
    "parents",
    "branch",
    "author",
    "committer",
    "message",
    "committed_at",
    "kind",
    "change_count",
}
PAGE_FIELDS = {"items", "total", "page", "page_size", "pages"}
LISTS = ("/api/v1/commits/HEAD/changes", "/api/v1/status/changes")


def ddl(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def engine_rows(query: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def tables(count: int, prefix: str = "p") -> list[str]:
    """``count`` plain tables (one tracked object each), named so that name order is key order."""
    names = [f"{prefix}{number:02d}" for number in range(count)]
    ddl(*(f"CREATE TABLE public.{name} (a integer)" for name in names))
    return names


def all_pages(client, path: str, page_size: int) -> list[dict]:
    first = client.get(path, {"page_size": page_size}).json()
    items = list(first["items"])
    for page in range(2, first["pages"] + 1):
        body = client.get(path, {"page": page, "page_size": page_size}).json()
        assert body["total"] == first["total"]
        items.extend(body["items"])
    assert len(items) == first["total"]
    return items


# --- commits ------------------------------------------------------------------------------------


def test_the_commit_list_carries_counts_not_changes(staff_client):
    names = tables(5)
    created = staff_client.post("/api/v1/commits", {"message": "five"}, format="json")
    assert created.status_code == 201
    assert set(created.json()) == COMMIT_FIELDS
    assert created.json()["change_count"] == 5

    listed = staff_client.get("/api/v1/commits").json()
    assert set(listed) == PAGE_FIELDS
    assert [set(item) for item in listed["items"]] == [COMMIT_FIELDS] * listed["total"]
    newest = listed["items"][0]
    assert newest == created.json()
    detail = staff_client.get(f"/api/v1/commits/{newest['short_hash']}")
    assert detail.status_code == 200
    assert detail.json() == newest
    changes = staff_client.get(f"/api/v1/commits/{newest['hash']}/changes").json()
    assert changes == {
        "items": [
            {"object_type": "table", "schema_name": "public", "object_name": name, "change": c}
            for name, c in zip(names, ["ADDED"] * 5, strict=True)
        ],
        "total": 5,
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "pages": 1,
    }


def test_every_commits_count_is_its_paged_total(staff_client):
    tables(3, "a")
    staff_client.post("/api/v1/commits", {"message": "three"}, format="json")
    ddl("ALTER TABLE public.a00 ADD COLUMN b text", "DROP TABLE public.a01")
    staff_client.post("/api/v1/commits", {"message": "modify and remove"}, format="json")
    commits = staff_client.get("/api/v1/commits").json()["items"]
    assert [c["message"] for c in commits][:2] == ["modify and remove", "three"]
    for commit in commits:  # the install's root commit included
        changes = all_pages(staff_client, f"/api/v1/commits/{commit['hash']}/changes", 2)
        assert len(changes) == commit["change_count"], commit["message"]
    changes = staff_client.get(f"/api/v1/commits/{commits[0]['hash']}/changes").json()["items"]
    assert [(c["object_name"], c["change"]) for c in changes] == [
        ("a00", "MODIFIED"),
        ("a01", "REMOVED"),
    ]


def test_a_commits_changes_page_first_middle_last(staff_client):
    names = tables(5)
    staff_client.post("/api/v1/commits", {"message": "five"}, format="json")
    path = "/api/v1/commits/HEAD/changes"

    def page(number: int) -> dict:
        response = staff_client.get(path, {"page": number, "page_size": 2})
        assert response.status_code == 200
        body = response.json()
        return {**body, "items": [item["object_name"] for item in body["items"]]}

    assert page(1) == {"items": names[0:2], "total": 5, "page": 1, "page_size": 2, "pages": 3}
    assert page(2) == {"items": names[2:4], "total": 5, "page": 2, "page_size": 2, "pages": 3}
    assert page(3) == {"items": names[4:5], "total": 5, "page": 3, "page_size": 2, "pages": 3}
    assert [c["object_name"] for c in all_pages(staff_client, path, 2)] == names
    assert [c["object_name"] for c in all_pages(staff_client, path, 100)] == names


def test_changes_of_an_unknown_commit_are_404(staff_client):
    for ref in ("nosuchref", "HEAD~5", "0000000"):
        response = staff_client.get(f"/api/v1/commits/{ref}/changes")
        assert response.status_code == 404, ref
        assert response.json()["code"] == "ref_not_found"


def test_a_commits_changes_take_a_fixed_number_of_queries(staff_client):
    tables(30)
    staff_client.post("/api/v1/commits", {"message": "thirty"}, format="json")
    path = "/api/v1/commits/HEAD/changes"
    staff_client.get(path, {"page_size": 1})
    with CaptureQueriesContext(connection) as one:
        staff_client.get(path, {"page_size": 1})
    with CaptureQueriesContext(connection) as thirty:
        staff_client.get(path, {"page_size": 30})
    assert len(thirty) == len(one)
    page = [q["sql"] for q in thirty.captured_queries if "commit_changes" in q["sql"]]
    assert len(page) == 2  # the count and the page, paged in SQL
    assert any("LIMIT 30" in sql for sql in page)


# --- status -------------------------------------------------------------------------------------


def test_status_carries_the_count_and_the_first_page(staff_client):
    names = tables(DEFAULT_PAGE_SIZE + 5)
    status = staff_client.get("/api/v1/status").json()
    assert set(status) == {"branch", "commit", "clean", "working_change_count", "working_changes"}
    assert (status["clean"], status["working_change_count"]) == (False, DEFAULT_PAGE_SIZE + 5)
    engine_order = [name for (name,) in engine_rows("SELECT object_name FROM pggit.status()")]
    assert sorted(engine_order) == names
    assert [c["object_name"] for c in status["working_changes"]] == engine_order[:DEFAULT_PAGE_SIZE]
    first = staff_client.get("/api/v1/status/changes").json()
    assert first["items"] == status["working_changes"]
    assert (first["total"], first["pages"]) == (DEFAULT_PAGE_SIZE + 5, 2)
    second = staff_client.get("/api/v1/status/changes", {"page": 2}).json()
    assert [c["object_name"] for c in second["items"]] == engine_order[DEFAULT_PAGE_SIZE:]
    assert set(second["items"][0]) == {
        "object_type",
        "schema_name",
        "object_name",
        "change_type",
        "statement",
        "actor",
        "captured_at",
    }
    paged = all_pages(staff_client, "/api/v1/status/changes", 7)
    assert [c["object_name"] for c in paged] == engine_order
    assert paged[3]["statement"] == f"CREATE TABLE public.{paged[3]['object_name']} (a integer)"


def test_a_change_of_a_long_script_carries_its_first_500_characters(staff_client):
    script = "\n".join(
        f"CREATE TABLE public.long_{number:02d} (a integer);" for number in range(30)
    )
    assert len(script) > 500
    ddl(script)
    cut = (
        script[:500]
        + f"\n-- ({len(script) - 500} more characters: the audit log has the whole message)"
    )
    items = all_pages(staff_client, "/api/v1/status/changes", 10)
    assert len(items) == 30
    assert {item["statement"] for item in items} == {cut}
    assert staff_client.get("/api/v1/status").json()["working_changes"][0]["statement"] == cut
    audit = staff_client.get("/api/v1/audit").json()["items"]
    assert {entry["statement"] for entry in audit} == {script}  # the whole message kept there


def test_status_changes_page_first_middle_last_and_after_a_commit(staff_client):
    tables(5)
    order = [name for (name,) in engine_rows("SELECT object_name FROM pggit.status()")]

    def page(number: int) -> dict:
        body = staff_client.get("/api/v1/status/changes", {"page": number, "page_size": 2}).json()
        return {**body, "items": [item["object_name"] for item in body["items"]]}

    assert page(1) == {"items": order[0:2], "total": 5, "page": 1, "page_size": 2, "pages": 3}
    assert page(2) == {"items": order[2:4], "total": 5, "page": 2, "page_size": 2, "pages": 3}
    assert page(3) == {"items": order[4:5], "total": 5, "page": 3, "page_size": 2, "pages": 3}

    staff_client.post("/api/v1/commits", {"message": "five"}, format="json")
    assert staff_client.get("/api/v1/status/changes").json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "pages": 1,
    }
    status = staff_client.get("/api/v1/status").json()
    assert (status["clean"], status["working_change_count"], status["working_changes"]) == (
        True,
        0,
        [],
    )
    refused = staff_client.get("/api/v1/status/changes", {"page": 2})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"page": ["Page 2 is out of range (1..1)."]}


def test_status_answer_does_not_grow_with_the_working_changes(staff_client):
    tables(DEFAULT_PAGE_SIZE)
    at_twenty = len(staff_client.get("/api/v1/status").content)
    tables(60, "q")
    at_eighty = staff_client.get("/api/v1/status")
    assert at_eighty.json()["working_change_count"] == DEFAULT_PAGE_SIZE + 60
    assert len(at_eighty.json()["working_changes"]) == DEFAULT_PAGE_SIZE
    # the same number of items; only their names (and a count's digits) may differ in length
    assert abs(len(at_eighty.content) - at_twenty) < 100


# --- the page conventions, on both lists --------------------------------------------------------


@pytest.mark.parametrize("path", LISTS)
def test_a_page_past_the_last_is_the_400_of_every_list(staff_client, path):
    tables(3)
    if "commits" in path:
        staff_client.post("/api/v1/commits", {"message": "three"}, format="json")
    response = staff_client.get(path, {"page": 3, "page_size": 2})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == ("invalid", "Invalid input.")
    assert body["errors"] == {"page": ["Page 3 is out of range (1..2)."]}
    assert set(body) == {"detail", "code", "errors", "request_id"}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("page=0", {"page": ["Must be 1 or more; got 0."]}),
        ("page=-1", {"page": ["Must be 1 or more; got -1."]}),
        ("page=abc", {"page": ["Must be an integer; got 'abc'."]}),
        ("page=1&page=2", {"page": ["Given more than once; give it once."]}),
        ("page_size=0", {"page_size": ["Must be 1..100; got 0."]}),
        ("page_size=101", {"page_size": ["Must be 1..100; got 101."]}),
        ("page_size=1.5", {"page_size": ["Must be an integer; got '1.5'."]}),
        (
            "page=99999999999999999999",
            {"page": ["Page 99999999999999999999 is out of range (1..1)."]},
        ),
        ("page=%202", {"page": ["Must be an integer; got ' 2'."]}),
        ("page=%D9%A3", {"page": ["Must be an integer; got '\u0663'."]}),
        ("ordering=object_name", {"ordering": ["This list has a fixed order."]}),
    ],
)
def test_bad_page_parameters_are_400_with_the_error_shape(staff_client, path, query, errors):
    tables(1)  # a working change (and, committed, a commit of one change)
    if "commits" in path:
        staff_client.post("/api/v1/commits", {"message": "one"}, format="json")
    response = staff_client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("path", LISTS)
def test_the_lists_need_the_read_permissions(api_client, user_client, path):
    assert api_client.get(path).status_code == 401
    assert user_client.get(path).status_code == 200  # the viewer role reads both
