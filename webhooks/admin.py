"""Admin of the webhooks app: endpoints (the secret is write-only), deliveries with their
attempts inline, and the operator's actions. Every change goes through ``webhooks.services``."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from pggit_project.errors import DomainError
from pggit_project.permissions import sees_sensitive
from webhooks import services
from webhooks.api.serializers import EVENT_TYPE_CHOICES, url_origin_only
from webhooks.choices import ACTIVE_DELIVERY_STATUSES
from webhooks.crypto import secret_is_valid
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_TYPE_CHOICES],
        initial=["*"],
        widget=forms.CheckboxSelectMultiple,
    )
    new_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Blank: keep the current secret (a new endpoint gets a generated "
        "one, shown once). A value (whsec_...) replaces it; the old one signs during the overlap.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "description", "is_active", "event_types"]
        widgets = {"name": forms.TextInput, "url": forms.URLInput(attrs={"size": 80})}

    def clean_new_secret(self) -> str:
        secret = self.cleaned_data.get("new_secret") or ""
        if secret and not secret_is_valid(secret):
            raise forms.ValidationError(
                "A secret is whsec_ followed by base64 of 24 to 64 bytes (leave blank to keep "
                "the current one)."
            )
        return secret

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            services.webhook_validate_url(url=url)
        except DomainError as exc:
            raise forms.ValidationError((exc.errors or {}).get("url", [exc.detail])) from None
        return url


def _each(request, queryset, label: str, func) -> None:
    """Run ``func(obj)`` for each selected object, reporting successes and domain errors."""
    done = 0
    for obj in queryset:
        try:
            func(obj)
            done += 1
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
    if done:
        messages.success(request, f"{label}: {done}.")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = [
        "name",
        "url",
        "is_active",
        "health_status",
        "consecutive_failures",
        "last_delivery_at",
        "secret_hint",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "url", "description"]
    ordering = ["id"]
    readonly_fields = [
        "secret_hint",
        "disabled_reason",
        "total_deliveries",
        "successful_deliveries",
        "failed_deliveries",
        "consecutive_failures",
        "failing_since",
        "last_delivery_at",
        "last_success_at",
        "last_failure_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    actions = ["send_test", "enable", "disable", "rotate_secret", "replay_day", "replay_week"]

    # Without pggit_project.view_sensitive the target URL shows its origin only, and cannot be
    # searched (a search would reveal the hidden path piece by piece). docs/security.md.
    @admin.display(description="URL")
    def target(self, obj) -> str:
        return url_origin_only(obj.url)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if sees_sensitive(request.user):
            return shown
        return ["target" if name == "url" else name for name in shown]

    def get_search_fields(self, request):
        shown = super().get_search_fields(request)
        return shown if sees_sensitive(request.user) else [n for n in shown if n != "url"]

    def get_fields(self, request, obj=None):
        shown = super().get_fields(request, obj)
        if sees_sensitive(request.user):
            return shown
        return ["target" if name == "url" else name for name in shown]

    def get_readonly_fields(self, request, obj=None):
        shown = list(super().get_readonly_fields(request, obj))
        return shown if sees_sensitive(request.user) else [*shown, "target"]

    def save_model(self, request, obj, form, change) -> None:
        actor = request.user.get_username()
        data = form.cleaned_data
        fields = {name: data[name] for name in ("name", "url", "description", "is_active")}
        fields["event_types"] = list(data["event_types"])
        if change:
            services.webhook_update(endpoint_id=obj.pk, changes=fields, actor=actor)
            if data.get("new_secret"):
                services.webhook_rotate_secret(
                    endpoint_id=obj.pk, secret=data["new_secret"], actor=actor
                )
            return
        secret = data.get("new_secret") or None
        created = services.webhook_create(**fields, secret=secret, actor=actor)
        obj.pk = created.endpoint.pk
        if secret is None:
            messages.warning(request, f"Signing secret (shown only now, copy it): {created.secret}")

    def delete_model(self, request, obj) -> None:
        services.webhook_delete(endpoint_id=obj.pk, actor=request.user.get_username())

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request, queryset) -> None:
        actor = request.user.get_username()
        _each(
            request,
            queryset,
            "Test events queued",
            lambda obj: services.webhook_send_test(endpoint_id=obj.pk, actor=actor),
        )

    @admin.action(description="Enable", permissions=["change"])
    def enable(self, request, queryset) -> None:
        actor = request.user.get_username()
        _each(
            request,
            queryset,
            "Enabled",
            lambda obj: services.webhook_enable(endpoint_id=obj.pk, actor=actor),
        )

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request, queryset) -> None:
        actor = request.user.get_username()
        _each(
            request,
            queryset,
            "Disabled",
            lambda obj: services.webhook_disable(endpoint_id=obj.pk, actor=actor),
        )

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secret(self, request, queryset) -> None:
        for obj in queryset:
            try:
                result = services.webhook_rotate_secret(
                    endpoint_id=obj.pk, actor=request.user.get_username()
                )
            except DomainError as exc:
                messages.error(request, f"{obj}: {exc.detail}")
                continue
            messages.warning(
                request, f"{obj}: new signing secret (shown only now): {result.secret}"
            )

    def _replay(self, request, queryset, days: int) -> None:
        since = timezone.now() - timedelta(days=days)
        actor = request.user.get_username()
        for obj in queryset:
            try:
                count = services.webhook_replay(endpoint_id=obj.pk, since=since, actor=actor)
                messages.success(request, f"{obj}: {count} deliveries queued again.")
            except DomainError as exc:
                messages.error(request, f"{obj}: {exc.detail}")

    @admin.action(
        description="Replay failed deliveries of the last 24 hours", permissions=["change"]
    )
    def replay_day(self, request, queryset) -> None:
        self._replay(request, queryset, 1)

    @admin.action(description="Replay failed deliveries of the last 7 days", permissions=["change"])
    def replay_week(self, request, queryset) -> None:
        self._replay(request, queryset, 7)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "status_code",
        "error",
        "response_excerpt",
        "request_headers",
        "worker",
    ]
    readonly_fields = fields
    ordering = ["number"]
    extra = 0
    can_delete = False

    def get_fields(self, request, obj=None):
        # receivers' answers only with pggit_project.view_sensitive (docs/security.md)
        hidden = () if sees_sensitive(request.user) else ("response_excerpt", "request_headers")
        return [name for name in super().get_fields(request, obj) if name not in hidden]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "endpoint",
        "event_type",
        "event_id",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["=event_id", "endpoint__name"]
    list_select_related = ["endpoint"]
    ordering = ["-created_at", "-id"]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]
    exclude = ["claim_token", "next_attempt_at"]  # shown as next_attempt

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        hidden = {"claim_token"} if sees_sensitive(request.user) else {"claim_token", "payload"}
        return [
            "next_attempt" if field.name == "next_attempt_at" else field.name
            for field in self.model._meta.fields
            if field.name not in hidden
        ]

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery):
        """Only while the delivery is still to be attempted (not a past schedule once over)."""
        if delivery.status in ACTIVE_DELIVERY_STATUSES:
            return delivery.next_attempt_at
        return None

    def get_exclude(self, request, obj=None):
        # payloads only with pggit_project.view_sensitive (docs/security.md)
        hidden = [] if sees_sensitive(request.user) else ["payload"]
        return [*(super().get_exclude(request, obj) or []), *hidden]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Opening a delivery shows it read-only; the redeliver action needs this permission.
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Redeliver now (same webhook-id)", permissions=["change"])
    def redeliver(self, request, queryset) -> None:
        actor = request.user.get_username()
        _each(
            request,
            queryset,
            "Queued again",
            lambda obj: services.delivery_redeliver(delivery_id=obj.pk, actor=actor),
        )
