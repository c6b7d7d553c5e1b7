"""The cache through real endpoints in this process: counts, TTLs, invalidation, warming, access.

Endpoints used: the vcs reads (``/api/v1/branches``, ``/api/v1/commits``, ``/api/v1/status``),
which are cached with ``CachedViewSetMixin`` / ``@cached_response``.
"""

from __future__ import annotations

import time

from django.contrib.auth.models import Permission
from django.db import transaction

from cachemgmt.namespaces import NAMESPACES

BRANCHES = "/api/v1/branches"
COMMITS = "/api/v1/commits"
STATUS = "/api/v1/status"


def stats(client) -> dict:
    response = client.get("/api/v1/cache/stats")
    assert response.status_code == 200
    return response.json()


def test_scripted_sequence_counts_exact_hits_and_misses(redis_cache, user_client):
    outcomes = [
        user_client.get(BRANCHES)["X-Cache"],  # miss
        user_client.get(BRANCHES)["X-Cache"],  # hit in L1
        user_client.get(f"{BRANCHES}/")["X-Cache"],  # same key: the trailing slash is ignored
        user_client.get(f"{BRANCHES}?page_size=5")["X-Cache"],  # another key: miss
        user_client.get(COMMITS)["X-Cache"],  # miss
    ]
    redis_cache.l1.clear()  # as if another process asked: only Redis (L2) has the entries
    outcomes.append(user_client.get(BRANCHES)["X-Cache"])  # hit in L2
    outcomes.append(user_client.get(BRANCHES)["X-Cache"])  # copied to L1 by the L2 hit

    assert outcomes == ["miss", "hit-l1", "hit-l1", "miss", "miss", "hit-l2", "hit-l1"]
    body = stats(user_client)
    assert (body["hits"], body["misses"], body["requests"]) == (4, 3, 7)
    assert body["hit_rate"] == 57.14
    assert (body["layers"]["l1"]["hits"], body["layers"]["l2"]["hits"]) == (3, 1)
    assert body["size"] == 3
    assert body["layers"]["l2"]["entries"] == 3
    assert body["mode"] == "redis"
    assert body["namespaces"]["branches"] | {"generation": None} == {
        "ttl": NAMESPACES["branches"],
        "generation": None,
        "hits": 4,
        "misses": 2,
        "entries": 2,
    }
    assert body["namespaces"]["commits"]["misses"] == 1
    assert body["namespaces"]["commits"]["entries"] == 1


def test_a_hit_returns_the_same_bytes_without_touching_the_engine(
    redis_cache, user_client, django_assert_num_queries
):
    first = user_client.get(COMMITS)
    # the engine-state version only: no engine query, no serializer, and the token's user and its
    # permissions were read by the first request (pggit_project.authentication)
    with django_assert_num_queries(1):
        second = user_client.get(COMMITS)
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit-l1")
    assert second.content == first.content
    assert second["Content-Type"] == "application/json"
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_each_key_lives_for_its_own_ttl(redis_cache, user_client):
    assert user_client.get(STATUS)["X-Cache"] == "miss"
    assert user_client.get(BRANCHES)["X-Cache"] == "miss"
    client = redis_cache.redis._get_client()
    ttls = {
        redis_cache.keys.namespace_of(key.decode()): client.pttl(key)
        for key in client.scan_iter(match=f"{redis_cache.keys.prefix}e*")
    }
    assert set(ttls) == {"status", "branches"}
    assert NAMESPACES["status"] * 1000 - 2000 < ttls["status"] <= NAMESPACES["status"] * 1000
    assert NAMESPACES["branches"] * 1000 - 2000 < ttls["branches"] <= NAMESPACES["branches"] * 1000

    time.sleep(NAMESPACES["status"] + 0.2)
    assert user_client.get(STATUS)["X-Cache"] == "miss"  # expired in L1 and in Redis
    assert user_client.get(BRANCHES)["X-Cache"] == "hit-l1"  # still within its 60 s


def test_invalidating_one_namespace_leaves_the_others_cached(
    redis_cache, user_client, staff_client
):
    for path in (BRANCHES, COMMITS, STATUS):
        assert user_client.get(path)["X-Cache"] == "miss"
    response = staff_client.post(
        "/api/v1/cache/invalidate", {"namespaces": ["branches"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "invalidated": ["branches"]}
    assert user_client.get(BRANCHES)["X-Cache"] == "miss"
    assert user_client.get(COMMITS)["X-Cache"] == "hit-l1"
    assert user_client.get(STATUS)["X-Cache"] == "hit-l1"


def test_invalidating_without_namespaces_invalidates_all(redis_cache, user_client, staff_client):
    for path in (BRANCHES, COMMITS):
        user_client.get(path)
    before = stats(user_client)["namespaces"]
    response = staff_client.post("/api/v1/cache/invalidate")
    assert response.json() == {"status": "ok", "invalidated": list(NAMESPACES)}
    after = stats(user_client)["namespaces"]
    assert [after[n]["generation"] - before[n]["generation"] for n in ("branches", "commits")] == [
        1,
        1,
    ]
    assert all(after[name]["generation"] != before[name]["generation"] for name in NAMESPACES)
    assert [user_client.get(p)["X-Cache"] for p in (BRANCHES, COMMITS)] == ["miss", "miss"]


def test_unknown_namespace_is_a_400_with_the_error_shape(redis_cache, staff_client):
    response = staff_client.post(
        "/api/v1/cache/invalidate", {"namespaces": ["branches", "nope"]}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {"namespaces": {"1": ['"nope" is not a valid choice.']}}
    malformed = staff_client.post(
        "/api/v1/cache/invalidate", "{not json", content_type="application/json"
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "parse_error")


def test_changes_need_the_permission_and_stats_need_a_login(
    redis_cache, api_client, user_client, user
):
    assert api_client.get("/api/v1/cache/stats").status_code == 401
    assert api_client.post("/api/v1/cache/invalidate").status_code == 401
    assert user_client.post("/api/v1/cache/invalidate").status_code == 403
    assert user_client.post("/api/v1/cache/warm").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="invalidate_cache"))
    assert user_client.post("/api/v1/cache/invalidate").status_code == 200
    assert user_client.post("/api/v1/cache/warm").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="warm_cache"))
    assert user_client.post("/api/v1/cache/warm").status_code == 200


def test_warm_fills_exactly_the_keys_it_reports(redis_cache, staff_client, user_client):
    response = staff_client.post("/api/v1/cache/warm")
    assert response.status_code == 200
    body = response.json()
    warmed_paths = [item["path"] for item in body["paths"]]
    assert {BRANCHES, COMMITS, STATUS} <= set(warmed_paths)
    assert body["warmed"] == len(body["keys"]) == len(warmed_paths)
    assert {item["result"] for item in body["paths"]} == {"filled"}
    client = redis_cache.redis._get_client()
    assert client.exists(*body["keys"]) == body["warmed"]
    assert stats(user_client)["size"] == body["warmed"]
    redis_cache.l1.clear()
    # warming fills the entries of its caller's audience (docs/cache.md): staff read them
    assert [staff_client.get(path)["X-Cache"] for path in warmed_paths] == ["hit-l2"] * len(
        warmed_paths
    )
    again = staff_client.post("/api/v1/cache/warm").json()
    assert again["keys"] == body["keys"]
    assert {item["result"] for item in again["paths"]} == {"present"}


def test_answers_inside_a_transaction_are_neither_served_nor_stored(redis_cache, user_client):
    assert user_client.get(BRANCHES)["X-Cache"] == "miss"
    with transaction.atomic():
        assert user_client.get(BRANCHES)["X-Cache"] == "bypass"
    assert user_client.get(BRANCHES)["X-Cache"] == "hit-l1"
    assert stats(user_client)["bypassed"] == 1


def test_warmed_entries_are_byte_identical_to_ordinary_answers(
    redis_cache, staff_client, user_client
):
    paths = (BRANCHES, COMMITS, "/api/v1/webhooks", "/api/v1/alerts")
    assert staff_client.post("/api/v1/cache/warm").status_code == 200
    warmed = {path: staff_client.get(path) for path in paths}  # the warming caller's audience
    assert {path: r["X-Cache"] for path, r in warmed.items()} == dict.fromkeys(paths, "hit-l1")
    staff_client.post("/api/v1/cache/invalidate")
    ordinary = {path: staff_client.get(path) for path in paths}
    assert {path: r["X-Cache"] for path, r in ordinary.items()} == dict.fromkeys(paths, "miss")
    for path in paths:
        assert warmed[path].content == ordinary[path].content, path
        assert [
            (k, v) for k, v in warmed[path].items() if k not in ("X-Request-ID", "X-Cache")
        ] == [(k, v) for k, v in ordinary[path].items() if k not in ("X-Request-ID", "X-Cache")], (
            path
        )
