"""List pagination per docs/api.md: items/total/page/page_size/pages; bounds are 400s."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls")]


@pytest.fixture
def five_users(user):
    """``reader`` (from the user fixture) plus u1..u4: five users, ordered by username."""
    for number in range(1, 5):
        get_user_model().objects.create_user(f"u{number}")


def usernames(response):
    return [item["username"] for item in response.json()["items"]]


def test_list_is_paginated_with_default_page_size(user_client, five_users):
    response = user_client.get("/t/users")
    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "total": 5,
        "page": 1,
        "page_size": 20,
        "pages": 1,
    }
    assert usernames(response) == ["reader", "u1", "u2", "u3", "u4"]


def test_page_and_page_size_select_a_slice(user_client, five_users):
    response = user_client.get("/t/users?page=2&page_size=2")
    assert response.status_code == 200
    assert usernames(response) == ["u2", "u3"]
    assert response.json()["pages"] == 3
    assert usernames(user_client.get("/t/users?page=3&page_size=2")) == ["u4"]


def test_list_query_count_does_not_grow_with_the_page(user_client, five_users):
    user_client.get("/t/users?page_size=1")  # the token's user and its permissions, once
    with CaptureQueriesContext(connection) as one:
        user_client.get("/t/users?page_size=1")
    with CaptureQueriesContext(connection) as five:
        user_client.get("/t/users?page_size=5")
    # the count and the page (and, without a user-state generation to trust, the token's user)
    assert len(five) == len(one) <= 3


def test_empty_list_is_one_empty_page(user_client):
    response = user_client.get("/t/groups")
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "page": 1, "page_size": 20, "pages": 1}


def test_page_two_of_an_empty_list_is_400(user_client):
    response = user_client.get("/t/groups?page=2")
    assert response.status_code == 400
    assert response.json()["errors"] == {"page": ["Page 2 is out of range (1..1)."]}


def test_last_page_holds_the_remainder(user_client, five_users):
    response = user_client.get("/t/users?page=2&page_size=3")
    assert response.json() == {
        "items": [
            {"id": get_user_model().objects.get(username=name).pk, "username": name}
            for name in ("u3", "u4")
        ],
        "total": 5,
        "page": 2,
        "page_size": 3,
        "pages": 2,
    }


def test_token_of_a_deleted_user_is_401(user_client):
    get_user_model().objects.all().delete()
    response = user_client.get("/t/users")
    assert response.status_code == 401


def test_page_past_the_last_is_400(user_client, five_users):
    response = user_client.get("/t/users?page=4&page_size=2")
    assert response.status_code == 400
    assert response.json()["errors"] == {"page": ["Page 4 is out of range (1..3)."]}
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("page=0", {"page": ["Must be 1 or more; got 0."]}),
        ("page=-1", {"page": ["Must be 1 or more; got -1."]}),
        ("page=abc", {"page": ["Must be an integer; got 'abc'."]}),
        ("page_size=0", {"page_size": ["Must be 1..100; got 0."]}),
        ("page_size=101", {"page_size": ["Must be 1..100; got 101."]}),
        ("page_size=1.5", {"page_size": ["Must be an integer; got '1.5'."]}),
        ("page_size=1000", {"page_size": ["Must be 1..100; got 1000."]}),
        (
            "page=99999999999999999999",
            {"page": ["Page 99999999999999999999 is out of range (1..1)."]},
        ),
        ("page=%202", {"page": ["Must be an integer; got ' 2'."]}),
        ("page=1_0", {"page": ["Must be an integer; got '1_0'."]}),
        ("page=%D9%A3", {"page": ["Must be an integer; got '\u0663'."]}),
        ("page_size=%2B5", {"page_size": ["Must be an integer; got '+5'."]}),
    ],
)
def test_out_of_range_parameters_are_400(user_client, five_users, query, errors):
    response = user_client.get(f"/t/users?{query}")
    assert response.status_code == 400
    assert response.json()["errors"] == errors


def test_page_size_100_is_accepted(user_client, five_users):
    response = user_client.get("/t/users?page_size=100")
    assert response.status_code == 200
    assert response.json()["page_size"] == 100


def test_the_total_is_exact_on_every_page_and_page_size(user_client, five_users):
    """A page that is not full tells the total itself (no count query); a full page is counted.
    Exact on every page of every size: first, full, partial and last pages alike, and one past
    the last is still the range's 400."""
    names = ["reader", "u1", "u2", "u3", "u4"]
    user_client.get("/t/users")  # the token's user and its permissions, once
    for page_size in range(1, 8):
        pages = -(-len(names) // page_size)
        for page in range(1, pages + 1):
            with CaptureQueriesContext(connection) as queries:
                response = user_client.get(f"/t/users?page={page}&page_size={page_size}")
            body = response.json()
            start = (page - 1) * page_size
            assert usernames(response) == names[start : start + page_size]
            assert (body["total"], body["pages"]) == (5, pages), (page, page_size)
            full = start + page_size <= len(names)
            counted = [q for q in queries if "COUNT(" in q["sql"]]
            assert len(counted) == (1 if full else 0), (page, page_size)
        past = user_client.get(f"/t/users?page={pages + 1}&page_size={page_size}")
        assert past.status_code == 400
        assert past.json()["errors"] == {
            "page": [f"Page {pages + 1} is out of range (1..{pages})."]
        }


def test_a_page_far_past_the_end_is_counted_not_offset(user_client, five_users):
    response = user_client.get(f"/t/users?page={2**62}&page_size=100")
    assert response.status_code == 400
    assert response.json()["errors"] == {"page": [f"Page {2**62} is out of range (1..1)."]}


def test_a_values_queryset_is_paged_and_counted_the_same_way(five_users):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from pggit_project.pagination import PageNumberPagination

    names = get_user_model().objects.values_list("username", flat=True).order_by("username")
    for query, page, total in (
        ("page=2&page_size=2", ["u2", "u3"], 5),
        ("page=2&page_size=4", ["u4"], 5),
    ):
        paginator = PageNumberPagination()
        request = Request(APIRequestFactory().get(f"/t/users?{query}"))
        assert paginator.paginate_queryset(names, request) == page
        assert paginator.total == total
