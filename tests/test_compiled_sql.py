"""Compiled SQL of list pages (pggit_project.compiled_sql): the same statements, parameters and
rows as Django's own path, compiled once per request shape."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertSilence
from alerts.services import alert_raise, alerts_silence_for
from pggit_project.compiled_sql import CompiledLists

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts():
    for number in range(7):
        alert_raise(
            fingerprint=f"compiled-{number}",
            source="compiled" if number % 2 else "other",
            severity="warning",
            title=f"alert {number}",
            actor="test",
        )


def fields_of(rows):
    names = [field.attname for field in Alert._meta.concrete_fields]
    return [(type(row), [getattr(row, name) for name in names]) for row in rows]


def statements(queries):
    return [(query["sql"]) for query in queries.captured_queries]


def test_a_page_is_djangos_slice_with_djangos_statement(alerts):
    lists = CompiledLists()
    queryset = Alert.objects.filter(source="compiled").order_by("-last_seen_at", "-id")
    with CaptureQueriesContext(connection) as django_path:
        expected = list(queryset[1:3])
    with CaptureQueriesContext(connection) as first:
        compiled = lists.page(("k",), queryset, 1, 3)
    with CaptureQueriesContext(connection) as again:
        kept = lists.page(("k",), queryset, 1, 3)
    assert fields_of(compiled) == fields_of(kept) == fields_of(expected)
    assert len(expected) == 2 and all(row._state.adding is False for row in kept)
    assert all(row._state.db == "default" for row in kept)
    assert statements(first) == statements(again) == statements(django_path)
    assert len(lists) == 1


def test_a_count_is_djangos_count_with_djangos_statement(alerts):
    lists = CompiledLists()
    queryset = Alert.objects.filter(source="compiled").order_by("-id")
    with CaptureQueriesContext(connection) as django_path:
        expected = queryset.count()
    with CaptureQueriesContext(connection) as first:
        counted = lists.count(("k",), queryset)
    with CaptureQueriesContext(connection) as again:
        kept = lists.count(("k",), queryset)
    assert expected == counted == kept == 3
    assert statements(first) == statements(again) == statements(django_path)


def test_a_kept_statement_sees_the_rows_of_now(alerts):
    lists = CompiledLists()
    queryset = Alert.objects.order_by("id")
    assert lists.count(("k",), queryset) == 7
    assert len(lists.page(("k",), queryset, 0, 20)) == 7
    Alert.objects.filter(fingerprint="compiled-0").delete()
    assert lists.count(("k",), queryset) == 6
    assert [row.fingerprint for row in lists.page(("k",), queryset, 0, 20)] == [
        f"compiled-{number}" for number in range(1, 7)
    ]


def test_a_counted_shape_reads_its_page_and_total_in_one_statement(alerts):
    lists = CompiledLists()
    queryset = Alert.objects.filter(source="compiled").order_by("-id")
    expected = list(queryset[1:3])
    assert lists.page_and_total(("k",), queryset, 1, 3)[1] is None  # not counted yet
    assert lists.count(("k",), queryset, 1, 3) == 3
    with CaptureQueriesContext(connection) as one:
        rows, total = lists.page_and_total(("k",), queryset, 1, 3)
    assert fields_of(rows) == fields_of(expected) and total == 3 and type(total) is int
    assert len(one.captured_queries) == 1
    assert "COUNT(*)" in one.captured_queries[0]["sql"]
    # the rows and the total of now, from the one statement
    Alert.objects.filter(fingerprint="compiled-5").delete()
    rows, total = lists.page_and_total(("k",), queryset, 1, 3)
    assert fields_of(rows) == fields_of(queryset[1:3]) and total == 2
    Alert.objects.filter(source="compiled").delete()
    assert lists.page_and_total(("k",), queryset, 1, 3) == ([], None)  # no row to carry it


def test_a_shape_counted_without_its_page_keeps_only_the_count(alerts):
    lists = CompiledLists()
    queryset = Alert.objects.order_by("id")
    assert lists.count(("k",), queryset) == 7
    with CaptureQueriesContext(connection) as queries:
        rows, total = lists.page_and_total(("k",), queryset, 0, 2)
    assert total is None and len(rows) == 2 and len(queries.captured_queries) == 1
    assert "COUNT(*)" not in queries.captured_queries[0]["sql"]


def test_other_querysets_take_djangos_path_every_time(alerts):
    lists = CompiledLists()
    annotated = Alert.objects.annotate(seen=F("occurrences")).order_by("id")
    rows = lists.page(("annotated",), annotated, 0, 3)
    assert [row.seen for row in rows] == [row.occurrences for row in rows]
    assert lists.count(("annotated",), annotated) == 7
    assert lists.page(("values",), Alert.objects.values("id").order_by("id"), 0, 2) == list(
        Alert.objects.values("id").order_by("id")[:2]
    )
    assert lists.page(("empty",), Alert.objects.filter(id__in=[]), 0, 2) == []
    assert len(lists) == 1  # only the "empty" shape got an entry, with no statement kept
    assert lists.page(("empty",), Alert.objects.filter(id__in=[]), 0, 2) == []


def test_the_least_recently_used_shape_is_dropped():
    lists = CompiledLists(max_entries=2)
    queryset = Alert.objects.order_by("id")
    lists.count(("a",), queryset)
    lists.count(("b",), queryset)
    lists.count(("a",), queryset)
    lists.count(("c",), queryset)
    assert list(lists._entries) == [("a",), ("c",)]


def test_the_api_list_answers_the_same_from_kept_statements(operator_client, alerts):
    urls = ["/api/v1/alerts?page_size=2&page=2", "/api/v1/alerts?source=compiled&ordering=id"]
    first = [operator_client.get(url) for url in urls]
    again = [operator_client.get(url) for url in urls]
    assert [response.status_code for response in first] == [200, 200]
    assert [response.content for response in first] == [response.content for response in again]
    assert first[0].json()["total"] == 7
    assert [item["id"] for item in first[1].json()["items"]] == sorted(
        Alert.objects.filter(source="compiled").values_list("id", flat=True)
    )


def test_a_full_page_of_a_list_is_one_statement_once_its_shape_was_counted(operator_client, alerts):
    url = "/api/v1/alerts?page_size=2&page=2&ordering=id"
    first = operator_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        again = operator_client.get(url)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert (again.json()["total"], again.json()["pages"]) == (7, 4)
    reads = [query["sql"] for query in queries.captured_queries if '"alerts"' in query["sql"]]
    assert len(reads) == 1 and "COUNT(*)" in reads[0]
    Alert.objects.filter(fingerprint="compiled-0").delete()
    assert (operator_client.get(url).json()["total"], len(reads)) == (6, 1)
    past = operator_client.get("/api/v1/alerts?page_size=2&page=9&ordering=id")
    assert past.status_code == 400
    assert past.json()["errors"] == {"page": ["Page 9 is out of range (1..3)."]}


def instance_state(rows):
    """Everything an instance holds: its class, its ``__dict__`` in order (the values and
    their types) and its ``_state``'s own attributes."""
    return [
        (
            type(row),
            [(name, type(value), value) for name, value in vars(row).items() if name != "_state"],
            list(vars(row)),
            vars(row._state),
        )
        for row in rows
    ]


def test_kept_pages_make_the_instances_djangos_from_db_makes(alerts):
    lists = CompiledLists()
    queryset = Alert.objects.order_by("id")
    expected = list(queryset[0:5])
    lists.page(("k",), queryset, 0, 5)
    kept = lists.page(("k",), queryset, 0, 5)
    assert instance_state(kept) == instance_state(expected)
    assert kept[0].get_deferred_fields() == set() and kept[0].pk == expected[0].pk
    assert kept[0] == expected[0] and kept[0]._state.fields_cache == {}


def test_kept_pages_decode_json_columns_as_djangos_json_field(alerts):
    # the kept page's own converter for plain JSONField columns: the same values (and types) as
    # Django's from_db_value, for every kind of JSON value the column can hold
    values = [
        '{"a": [1, 2.5, "\u00e9\\n"], "b": null, "c": {"d": true}}',
        '"text"',
        "12345678901234567890",
        "1.5e300",
        "-0.000001",
        "null",
        "[]",
    ]
    ids = list(Alert.objects.order_by("id").values_list("id", flat=True))
    with connection.cursor() as cursor:
        for alert_id, value in zip(ids, values, strict=True):
            cursor.execute(
                f'UPDATE "{Alert._meta.db_table}" SET details = %s::jsonb WHERE id = %s',
                [value, alert_id],
            )
    lists = CompiledLists()
    queryset = Alert.objects.order_by("id")
    expected = [repr(alert.details) for alert in queryset[0:7]]
    lists.page(("k",), queryset, 0, 7)
    kept = [repr(alert.details) for alert in lists.page(("k",), queryset, 0, 7)]
    assert kept == expected
    assert expected[1] == "'text'" and expected[5] == "None" and expected[3] == str(15 * 10**299)


def test_kept_pages_with_a_foreign_key_set_read_the_related_objects_as_djangos(alerts):
    silenced = ["compiled-1", "compiled-4"]
    alerts_silence_for(
        alert_ids=Alert.objects.filter(fingerprint__in=silenced).values_list("id", flat=True),
        duration=timedelta(hours=1),
        actor="test",
        comment="kept pages",
    )
    lists = CompiledLists()
    queryset = Alert.objects.order_by("id")
    expected = list(queryset[0:7])
    lists.page(("fk",), queryset, 0, 7)
    kept = lists.page(("fk",), queryset, 0, 7)
    with_silence = [row.fingerprint in silenced for row in expected]
    assert [row.silence_id is not None for row in expected] == with_silence
    assert with_silence.count(True) == 2

    def without_fields_cache(rows):
        return [
            (*described, {name: value for name, value in state.items() if name != "fields_cache"})
            for *described, state in instance_state(rows)
        ]

    assert without_fields_cache(kept) == without_fields_cache(expected)
    # Model.__init__ made an empty cache for the rows whose foreign key is set; here
    # ModelState's descriptor makes it on first use
    assert [vars(row._state).get("fields_cache") for row in expected] == [
        {} if flag else None for flag in with_silence
    ]
    assert all("fields_cache" not in vars(row._state) for row in kept)
    with CaptureQueriesContext(connection) as django_reads:
        django_silences = [row.silence for row in expected]
    with CaptureQueriesContext(connection) as kept_reads:
        kept_silences = [row.silence for row in kept]
    assert kept_silences == django_silences and len(kept_reads) == len(django_reads) == 2
    assert [type(silence) for silence in kept_silences] == [
        AlertSilence if flag else type(None) for flag in with_silence
    ]
    assert [
        {name: getattr(value, "pk", value) for name, value in row._state.fields_cache.items()}
        for row in kept
    ] == [
        {name: getattr(value, "pk", value) for name, value in row._state.fields_cache.items()}
        for row in expected
    ]
    assert instance_state(kept[:1]) == instance_state(expected[:1])  # no foreign key set
    assert kept[1].silence is kept_silences[1]  # cached, as Django's


def test_deferred_fields_and_init_receivers_take_from_db(alerts):
    from django.db.models.signals import post_init

    lists = CompiledLists()
    deferred = Alert.objects.only("id", "title").order_by("id")
    lists.page(("only",), deferred, 0, 3)
    kept = lists.page(("only",), deferred, 0, 3)
    assert instance_state(kept) == instance_state(list(deferred[0:3]))
    assert kept[0].get_deferred_fields() == deferred[0].get_deferred_fields() != set()

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    queryset = Alert.objects.order_by("id")
    lists.page(("all",), queryset, 0, 3)
    post_init.connect(receiver, sender=Alert)
    try:
        kept = lists.page(("all",), queryset, 0, 3)
    finally:
        post_init.disconnect(receiver, sender=Alert)
    assert seen == kept and len(kept) == 3


def test_first_by_pk_is_djangos_first_with_djangos_statement(alerts):
    lists = CompiledLists()
    ids = list(Alert.objects.order_by("id").values_list("id", flat=True))
    with CaptureQueriesContext(connection) as django_path:
        expected = [Alert.objects.filter(pk=pk).first() for pk in ids[:3]]
    with CaptureQueriesContext(connection) as kept_path:
        kept = [lists.first_by_pk(Alert.objects.all, pk) for pk in ids[:3]]
    assert instance_state(kept) == instance_state(expected)
    assert statements(kept_path) == statements(django_path)
    assert list(lists._lookups) == [("first_by_pk", Alert.objects.all)]
    assert lists._lookups["first_by_pk", Alert.objects.all].page.params == (ids[0],)
    assert type(lists._lookups["first_by_pk", Alert.objects.all].page.params[0]) is not int  # Int8
    # the queryset's own order (first() keeps it), and a key with no row
    with CaptureQueriesContext(connection) as django_ordered:
        expected = Alert.objects.order_by("-id").filter(pk=ids[1]).first()
        missing = Alert.objects.order_by("-id").filter(pk=ids[-1] + 100).first()

    def ordered():
        return Alert.objects.order_by("-id")

    with CaptureQueriesContext(connection) as kept_ordered:
        assert lists.first_by_pk(ordered, ids[-1] + 100) is missing is None
        assert instance_state([lists.first_by_pk(ordered, ids[1])]) == instance_state([expected])
    assert statements(kept_ordered) == statements(django_ordered)[::-1]
    assert "ORDER BY" in statements(kept_ordered)[0]
    Alert.objects.filter(pk=ids[2]).delete()
    assert lists.first_by_pk(Alert.objects.all, ids[2]) is None  # the rows of now


def test_first_by_pk_outside_the_keys_range_or_not_an_int_takes_djangos_path(alerts):
    lists = CompiledLists()
    first_id = Alert.objects.order_by("id").values_list("id", flat=True)[0]
    for pk in (2**63, -(2**63) - 1):  # beyond bigint: Django sends no statement
        with CaptureQueriesContext(connection) as sent:
            assert lists.first_by_pk(Alert.objects.all, pk) is None
        assert len(sent) == 0 and len(lists._lookups) == 0
    assert lists.first_by_pk(Alert.objects.all, first_id).pk == first_id
    one = Alert.objects.filter(pk=True).first()
    with CaptureQueriesContext(connection) as sent:
        assert lists.first_by_pk(Alert.objects.all, 2**63) is None
        assert lists.first_by_pk(Alert.objects.all, str(first_id)).pk == first_id
        assert lists.first_by_pk(Alert.objects.all, True) == one
    assert len(sent) == 2  # the text and the bool went Django's way, the overflow nowhere


def test_first_by_pk_of_querysets_it_cannot_keep_is_djangos_every_time(alerts):
    lists = CompiledLists()
    ids = list(Alert.objects.order_by("id").values_list("id", flat=True))

    def annotated():
        return Alert.objects.annotate(seen=F("occurrences"))

    def filtered():
        return Alert.objects.filter(source="compiled")

    for pk in ids[:2]:
        assert lists.first_by_pk(annotated, pk).seen == Alert.objects.get(pk=pk).occurrences
        expected = Alert.objects.filter(source="compiled", pk=pk).first()
        assert lists.first_by_pk(filtered, pk) == expected
    assert lists._lookups["first_by_pk", annotated].page is None
    assert lists._lookups["first_by_pk", filtered].page is None  # a second parameter


def test_the_api_detail_answers_the_same_from_kept_statements(operator_client, alerts):
    from pggit_project.compiled_sql import compiled_lists

    compiled_lists.clear()
    first_id = Alert.objects.order_by("id").values_list("id", flat=True)[0]
    urls = [f"/api/v1/alerts/{first_id}", f"/api/v1/alerts/{first_id + 100}"]
    first = [operator_client.get(url) for url in urls]
    again = [operator_client.get(url) for url in urls]
    assert [response.status_code for response in first] == [200, 404]
    assert [response.status_code for response in again] == [200, 404]
    assert first[0].content == again[0].content and first[0].json()["id"] == first_id
    assert first[1].json()["code"] == again[1].json()["code"] == "alert_not_found"
    assert ("first_by_pk", Alert.objects.all) not in compiled_lists._lookups
    assert compiled_lists._lookups  # the alert view's selector
