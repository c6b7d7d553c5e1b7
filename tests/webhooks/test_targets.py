"""SSRF rules (docs/api.md, Webhooks: URL) on save and at delivery, after name resolution.

Names like ``hooks.example.test`` are resolved through a table installed with
``webhooks.targets.set_resolver`` (fixture ``resolver``): the test decides what the name resolves
to at save time and at delivery time, as a DNS server under an attacker's control would.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.webhooks.conftest import create_endpoint, emit
from webhooks import services, targets
from webhooks.delivery.worker import deliver_until_idle
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.targets import refusal_reason

PUBLIC_ADDRESS = "93.184.216.34"


def create_body(url: str) -> dict:
    return {"name": "hook", "url": url, "event_types": ["*"]}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
    ],
)
def test_private_and_loopback_urls_are_refused_on_save(staff_client, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = staff_client.post("/api/v1/webhooks", create_body(url), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS is off" in response.json()["errors"]["url"][0]


def test_loopback_url_is_accepted_when_private_targets_are_allowed(staff_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    response = staff_client.post(
        "/api/v1/webhooks", create_body("http://127.0.0.1:9000/hook"), format="json"
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[::ffff:169.254.169.254]/hook", "link-local"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
    ],
)
def test_link_local_multicast_and_unspecified_are_always_refused(
    staff_client, settings, url, reason
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    response = staff_client.post("/api/v1/webhooks", create_body(url), format="json")

    assert response.status_code == 400
    assert reason in response.json()["errors"]["url"][0]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost"])
def test_only_http_urls_with_a_host_are_accepted(staff_client, url):
    response = staff_client.post("/api/v1/webhooks", create_body(url), format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["url"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://user:pass@hooks.example.com/x",
            "a user name or password in the URL is not accepted (it would be shown to everyone "
            "who can read the endpoint; receivers verify the signature instead)",
        ),
        # read by the client as user info "hooks.example.com\\" before the host 169.254.169.254
        (
            "http://hooks.example.com\\@169.254.169.254/",
            "a user name or password in the URL is not accepted (it would be shown to everyone "
            "who can read the endpoint; receivers verify the signature instead)",
        ),
        ("https://hooks.example.com/x#part", "a URL fragment (#...) is never sent; remove it"),
        ("https://hooks.example.com:0/x", "port 0 is not a TCP port (1 to 65535)"),
        ("https://hooks.example.com:70000/x", "port 70000 is not a TCP port (1 to 65535)"),
        ("https://hooks..example.com/x", "'hooks..example.com' is not a valid host name"),
        ("https://exa mple.com/x", "'exa%20mple.com' is not a valid host name"),
        ("https://-hooks.example.com/x", "'-hooks.example.com' is not a valid host name"),
    ],
)
def test_urls_a_webhook_cannot_be_sent_to_as_given_are_refused_with_the_reason(
    staff_client, url, message
):
    response = staff_client.post("/api/v1/webhooks", create_body(url), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["errors"] == {"url": [message]}


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com:8443/in?source=pggit",
        "https://my_service.internal/in",
        "https://bücher.example/in",
        "https://hooks.example.com./in",
    ],
)
def test_ports_queries_underscores_and_international_names_are_accepted(
    staff_client, resolver, url
):
    resolver["hooks.example.com"] = resolver["hooks.example.com."] = [PUBLIC_ADDRESS]
    resolver["xn--bcher-kva.example"] = resolver["my_service.internal"] = [PUBLIC_ADDRESS]

    response = staff_client.post("/api/v1/webhooks", create_body(url), format="json")

    assert response.status_code == 201
    assert response.json()["url"] == url


def test_a_name_that_resolves_to_a_private_address_is_refused_on_save(
    staff_client, settings, resolver
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    resolver["internal.example.test"] = [PUBLIC_ADDRESS, "10.0.0.7"]

    response = staff_client.post(
        "/api/v1/webhooks", create_body("https://internal.example.test/hook"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"]["url"] == [
        "internal.example.test resolves to 10.0.0.7: a private address is refused "
        "(WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"
    ]


def test_a_name_that_does_not_resolve_yet_is_accepted_on_save(staff_client, resolver):
    response = staff_client.post(
        "/api/v1/webhooks", create_body("https://not-yet.example.test/hook"), format="json"
    )

    assert response.status_code == 201


def test_ipv4_mapped_loopback_is_treated_as_loopback():
    assert refusal_reason("::ffff:127.0.0.1", allow_private=True) is None
    assert "loopback" in refusal_reason("::ffff:127.0.0.1", allow_private=False)


def test_a_kept_reason_follows_the_private_targets_setting_and_bad_addresses_still_raise():
    # refusal_reason is kept per address and setting: asked in both orders, each answer is the
    # setting's own
    for allowed in (True, False, True):
        assert (refusal_reason("10.9.8.7", allow_private=allowed) is None) is allowed
    for allowed in (False, True, False):
        assert (refusal_reason("100.64.9.8", allow_private=allowed) is None) is allowed
    for _ in range(2):
        with pytest.raises(ValueError):
            refusal_reason("10.9.8", allow_private=True)


@pytest.mark.parametrize(
    ("url", "allowed", "message"),
    [
        (
            "http://10.1.2.3/hook",
            False,
            "10.1.2.3: a private address is refused (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)",
        ),
        (
            "http://[::1]:8080/hook",
            False,
            "::1: a loopback address is refused (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)",
        ),
        (
            "http://[::ffff:169.254.169.254]/hook",
            True,
            "::ffff:169.254.169.254: a link-local address (e.g. cloud metadata) is never a "
            "webhook target",
        ),
    ],
)
def test_an_ip_literal_is_refused_on_save_with_the_host_and_the_reason(
    staff_client, settings, url, allowed, message
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = allowed

    response = staff_client.post("/api/v1/webhooks", create_body(url), format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"url": [message]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_a_name_rebound_to_a_private_address_after_save_is_refused_at_delivery(
    receiver, resolver, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    resolver["hooks.example.test"] = [PUBLIC_ADDRESS]
    create_endpoint(receiver.url(host="hooks.example.test"))
    resolver["hooks.example.test"] = ["127.0.0.1"]  # DNS rebinding
    emit("commit.created")

    deliver_until_idle()

    assert receiver.received() == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error == (
        "refused: hooks.example.test resolves to 127.0.0.1: a loopback address is refused "
        "(WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"
    )
    assert WebhookDelivery.objects.get().status == "pending"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_localhost_is_refused_at_delivery_once_private_targets_are_disallowed(receiver, settings):
    create_endpoint(receiver.url(host="localhost"))  # accepted: private targets allowed
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    emit("commit.created")

    deliver_until_idle()

    assert receiver.received() == []
    assert WebhookAttempt.objects.get().error.startswith("refused: localhost resolves to ")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_delivery_connects_to_the_checked_address_and_keeps_the_host_name(receiver, resolver):
    resolver["hooks.example.test"] = ["127.0.0.1"]
    create_endpoint(receiver.url(host="hooks.example.test"))
    emit("commit.created")

    deliver_until_idle()

    [request] = receiver.received()
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"


def test_changing_the_url_applies_the_same_rules(staff_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    endpoint = services.webhook_create(
        name="hook", url="https://hooks.example.com/x", event_types=["*"]
    ).endpoint

    response = staff_client.patch(
        f"/api/v1/webhooks/{endpoint.pk}", {"url": "http://169.254.169.254/"}, format="json"
    )

    assert response.status_code == 400
    assert "link-local" in response.json()["errors"]["url"][0]


@pytest.fixture
def slow_names(resolver):
    """Names ``slow-<n>.example.test`` whose lookups hang (as with an unresponsive DNS server)
    once ``hang`` is set, until the test ends; ``shared.*`` lookups take 0.3 s; names come from
    the ``resolver`` table. Lookups are counted per name."""
    release = threading.Event()
    state = {"hang": False, "lookups": Counter()}

    def resolve(host: str, port: int) -> list[str]:
        state["lookups"][host] += 1
        if host.startswith("slow-") and state["hang"]:
            release.wait(30)
        if host.startswith("shared."):
            time.sleep(0.3)
        if host not in resolver:
            raise OSError(f"{host} does not resolve")
        return list(resolver[host])

    previous = targets.set_resolver(resolve)
    yield state
    release.set()
    targets.set_resolver(previous)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_hanging_name_lookups_do_not_hold_up_deliveries_to_other_endpoints(
    receiver, resolver, slow_names, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_RETRY_SCHEDULE = []
    for n in range(12):  # more hanging lookups than asyncio's default executor has threads
        create_endpoint(receiver.url(host=f"slow-{n}.example.test"), name=f"slow-{n}")
    resolver["fast.example.test"] = ["127.0.0.1"]
    create_endpoint(receiver.url("/named", host="fast.example.test"), name="named")
    create_endpoint(receiver.url("/literal"), name="literal")
    slow_names["hang"] = True
    emit("commit.created")

    deliver_until_idle()

    assert sorted(r.path for r in receiver.received()) == ["/literal", "/named"]
    outcomes = {
        d.endpoint.name: (d.status, d.attempt_count, d.last_status_code, d.last_error)
        for d in WebhookDelivery.objects.select_related("endpoint")
    }
    assert outcomes.pop("literal") == ("delivered", 1, 200, None)
    assert outcomes.pop("named") == ("delivered", 1, 200, None)
    assert set(outcomes.values()) == {("failed", 1, None, "timeout: no complete answer within 1 s")}
    assert len(outcomes) == 12


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_deliveries_to_one_host_in_flight_together_share_one_name_lookup(
    receiver, resolver, slow_names
):
    resolver["shared.example.test"] = ["127.0.0.1"]
    create_endpoint(receiver.url(host="shared.example.test"))
    slow_names["lookups"].clear()
    for _ in range(5):
        emit("commit.created")

    deliver_until_idle()

    assert len(receiver.received()) == 5
    assert slow_names["lookups"] == Counter({"shared.example.test": 1})
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["delivered"] * 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_webhook_tables", "webhook_settings")
def test_a_name_resolving_to_link_local_is_refused_at_delivery_with_private_targets_allowed(
    receiver, resolver
):
    resolver["hooks.example.test"] = ["127.0.0.1"]
    create_endpoint(receiver.url(host="hooks.example.test"))
    resolver["hooks.example.test"] = ["127.0.0.1", "169.254.169.254"]
    emit("commit.created")

    deliver_until_idle()

    assert receiver.received() == []
    assert WebhookAttempt.objects.get().error == (
        "refused: hooks.example.test resolves to 169.254.169.254: a link-local address "
        "(e.g. cloud metadata) is never a webhook target"
    )
