"""Standard Webhooks signing (https://www.standardwebhooks.com/), through the ``standardwebhooks``
reference library: ``webhook-signature`` is ``v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>``,
one per secret (space-separated) while a rotated secret is still in its overlap window.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from webhooks.constants import REDACTED, USER_AGENT


def envelope_body(payload: dict[str, Any]) -> str:
    """The request body: the event envelope as compact JSON (the same bytes on every attempt)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signature_header(*, msg_id: str, timestamp: int, body: str, secrets: list[str]) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=moment, data=body) for secret in secrets
    )


def signed_headers(*, msg_id: str, timestamp: int, body: str, secrets: list[str]) -> dict[str, str]:
    """The headers of one attempt: id, timestamp, signature(s), JSON content type, no
    compression of the answer."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            msg_id=msg_id, timestamp=timestamp, body=body, secrets=secrets
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        # the answer is kept as an excerpt: uncompressed, so that it reads as the receiver wrote it
        "accept-encoding": "identity",
    }


def redacted(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored with an attempt: the signature is never kept."""
    return {
        name: (REDACTED if name == "webhook-signature" else value)
        for name, value in headers.items()
    }
