"""Admin of the alerts app: alerts (filters, bulk acknowledge / resolve / silence, occurrence
history), silences, recorded operations, and baselines with a performance page of trend charts.
Every change goes through alerts.services (the engine's SQL functions)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from alerts import charts, selectors, services
from alerts.constants import OCCURRENCE_HISTORY_LIMIT, TREND_WINDOW_HOURS
from alerts.models import Alert, AlertSilence, OperationRecord, PerformanceBaseline
from pggit_project.admin import ReadOnlyAdmin
from pggit_project.errors import DomainError

BULK_SILENCE = timedelta(hours=24)

# The admin index links the live operations page (alerts/live.py).
admin.site.index_template = "alerts/admin_index.html"


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["id", "severity", "status", "source", "title", "occurrences", "last_seen_at"]
    list_filter = ["status", "severity", "source"]
    search_fields = ["fingerprint", "title", "message"]
    ordering = ["-last_seen_at", "-id"]
    actions = ["acknowledge", "resolve", "silence"]
    readonly_fields = ["occurrence_history"]

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm("alerts.change_alert")

    @admin.display(description="Occurrence history (newest first)")
    def occurrence_history(self, alert: Alert):
        rows = selectors.alert_history(alert, OCCURRENCE_HISTORY_LIMIT)
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (o.occurred_at, o.severity, o.status, "yes" if o.notified else "no", o.message)
                for o in rows
            ),
        )
        return format_html(
            "<p>{} of {} occurrences</p><table><thead><tr><th>at</th><th>severity</th>"
            "<th>status</th><th>notified</th><th>message</th></tr></thead><tbody>{}</tbody>"
            "</table>",
            len(rows),
            alert.occurrences,
            body,
        )

    def _report(self, request, done: int, verb: str, errors: list[str]) -> None:
        self.message_user(request, f"{done} alert(s) {verb}.", messages.SUCCESS)
        for error in errors:
            self.message_user(request, error, messages.WARNING)

    @admin.action(description="Acknowledge selected alerts", permissions=["operate"])
    def acknowledge(self, request, queryset):
        result = services.alert_acknowledge_many(
            alert_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user.get_username(),
        )
        skipped = result.already_acknowledged + result.not_acknowledgeable
        errors = (
            [f"Not acknowledgeable (already acknowledged or resolved): {skipped}"]
            if skipped
            else []
        )
        self._report(request, len(result.acknowledged), "acknowledged", errors)

    @admin.action(description="Resolve selected alerts", permissions=["operate"])
    def resolve(self, request, queryset):
        done = services.alerts_resolve_many(
            alert_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user.get_username(),
        )
        self._report(request, done, "resolved", [])

    @admin.action(description="Silence selected alerts for 24 hours", permissions=["operate"])
    def silence(self, request, queryset):
        silences = services.alerts_silence_for(
            alert_ids=list(queryset.values_list("pk", flat=True)),
            duration=BULK_SILENCE,
            actor=request.user.get_username(),
            comment="silenced from the admin",
        )
        self._report(request, len(silences), "silenced (one silence each)", [])


@admin.register(AlertSilence)
class AlertSilenceAdmin(ReadOnlyAdmin):
    list_display = ["id", "matchers", "starts_at", "ends_at", "created_by", "comment"]
    ordering = ["-ends_at", "-id"]


@admin.register(OperationRecord)
class OperationRecordAdmin(ReadOnlyAdmin):
    list_display = ["id", "operation", "started_at", "duration_ms", "object_count", "branch",
                    "actor", "success", "parent_id"]  # fmt: skip
    list_filter = ["operation", "success"]
    search_fields = ["operation", "branch", "actor"]
    ordering = ["-started_at", "-id"]


@admin.register(PerformanceBaseline)
class PerformanceBaselineAdmin(ReadOnlyAdmin):
    """The performance page: baselines, and trend charts per operation type above them."""

    list_display = ["operation", "sample_count", "p50", "p95", "p99", "mean", "threshold",
                    "calculated_at"]  # fmt: skip
    ordering = ["operation"]

    @staticmethod
    def _ms(value) -> str:
        """Milliseconds as a person reads them: 3 significant digits below 100, whole above."""
        if value is None:
            return "—"
        return f"{value:.3g} ms" if abs(value) < 100 else f"{value:,.0f} ms"

    @admin.display(description="p50", ordering="p50_ms")
    def p50(self, baseline) -> str:
        return self._ms(baseline.p50_ms)

    @admin.display(description="p95", ordering="p95_ms")
    def p95(self, baseline) -> str:
        return self._ms(baseline.p95_ms)

    @admin.display(description="p99", ordering="p99_ms")
    def p99(self, baseline) -> str:
        return self._ms(baseline.p99_ms)

    @admin.display(description="mean", ordering="mean_ms")
    def mean(self, baseline) -> str:
        return self._ms(baseline.mean_ms)

    @admin.display(description="slow-run threshold", ordering="threshold_ms")
    def threshold(self, baseline) -> str:
        return self._ms(baseline.threshold_ms)

    change_list_template = "admin/alerts/performancebaseline/change_list.html"

    def get_urls(self):
        recalculate = self.admin_site.admin_view(self.recalculate_view)
        return [
            path("recalculate/", recalculate, name="alerts_performancebaseline_recalculate"),
            *super().get_urls(),
        ]

    def recalculate_view(self, request):
        changelist = reverse("admin:alerts_performancebaseline_changelist")
        if request.method != "POST" or not request.user.has_perm(
            "alerts.change_performancebaseline"
        ):
            self.message_user(request, "Recalculating needs a POST and the permission.",
                              messages.ERROR)  # fmt: skip
            return HttpResponseRedirect(changelist)
        try:
            baselines = services.baselines_recalculate(actor=request.user.get_username())
        except DomainError as error:
            self.message_user(request, error.detail, messages.ERROR)
        else:
            self.message_user(request, f"{len(baselines)} baseline(s) recalculated.")
        return HttpResponseRedirect(changelist)

    def changelist_view(self, request, extra_context=None):
        trends = selectors.operation_trends(
            since=timezone.now() - timedelta(hours=TREND_WINDOW_HOURS), bucket=timedelta(hours=1)
        )
        thresholds = dict(
            selectors.baseline_queryset()
            .filter(threshold_ms__isnull=False)
            .values_list("operation", "threshold_ms")
        )
        trend_charts = []
        for operation, points in trends.items():
            series = {
                "p50": [(p["bucket"], p["p50_ms"]) for p in points],
                "p95": [(p["bucket"], p["p95_ms"]) for p in points],
            }
            if operation in thresholds:  # the slow-run threshold, across the chart
                ends = (points[0]["bucket"], points[-1]["bucket"])
                series["threshold"] = [(at, thresholds[operation]) for at in ends]
            chart = charts.line_chart(f"{operation}: hourly p50 and p95", series)
            trend_charts.append((operation, chart, sum(p["runs"] for p in points)))
        context = {
            **(extra_context or {}),
            "trend_charts": trend_charts,
            "trend_hours": TREND_WINDOW_HOURS,
            "can_recalculate": request.user.has_perm("alerts.change_performancebaseline"),
        }
        return super().changelist_view(request, extra_context=context)
