"""Query filters of the version-control lists (django-filter)."""

from __future__ import annotations

import django_filters

from pggit_project.filters import StrictFilterSet
from vcs import selectors
from vcs.models import AuditEntry, Commit, LiveObject

# The engine's object kinds (pggit._kind_prefix in sql/engine/catalog/catalog.sql refuses any
# other).
OBJECT_KINDS = (
    "schema",
    "extension",
    "table",
    "constraint",
    "index",
    "view",
    "materialized_view",
    "function",
    "procedure",
    "aggregate",
    "trigger",
    "sequence",
    "type",
    "domain",
    "policy",
    "rule",
    "operator",
    "cast",
    "collation",
    "text_search_configuration",
    "text_search_dictionary",
    "statistics",
    "comment",
    "privileges",
    "default_privileges",
)


class CommitFilter(StrictFilterSet):
    """branch (first-parent history of a ref), author, since/until, object (key or schema.name),
    q (text in the message)."""

    branch = django_filters.CharFilter(method="filter_branch", max_length=200)
    author = django_filters.CharFilter(field_name="author")
    since = django_filters.IsoDateTimeFilter(field_name="committed_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="committed_at", lookup_expr="lte")
    object = django_filters.CharFilter(method="filter_object", max_length=500)
    q = django_filters.CharFilter(field_name="message", lookup_expr="icontains", max_length=200)

    class Meta:
        model = Commit
        fields = ["branch", "author", "since", "until", "object", "q"]

    def filter_branch(self, queryset, name, value):
        return queryset & selectors.commit_queryset(branch=value)

    def filter_object(self, queryset, name, value):
        return queryset & selectors.commit_queryset(object_ref=value)


class ObjectFilter(StrictFilterSet):
    """object_type (one of the engine's kinds; another is a 400), schema, search (in the key)."""

    object_type = django_filters.ChoiceFilter(
        field_name="kind", choices=[(kind, kind) for kind in OBJECT_KINDS]
    )
    schema = django_filters.CharFilter(field_name="schema_name")
    search = django_filters.CharFilter(field_name="object_key", lookup_expr="icontains")

    class Meta:
        model = LiveObject
        fields = ["object_type", "schema", "search"]


class AuditFilter(StrictFilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="captured_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="captured_at", lookup_expr="lte")
    role = django_filters.CharFilter(field_name="role_name")
    actor = django_filters.CharFilter(field_name="actor")
    command_tag = django_filters.CharFilter(field_name="command_tag")

    class Meta:
        model = AuditEntry
        fields = ["since", "until", "role", "actor", "command_tag"]
