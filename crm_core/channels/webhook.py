"""The webhook channel: an HTTP POST of each notice as JSON, signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from collections.abc import Callable

from crm_core.channels import Options
from crm_core.errors import ConfigError
from crm_core.i18n import _
from crm_core.outbox import OutboxMessage

SIGNATURE_HEADER = "X-CRM-Signature"


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body``: ``sha256=<hex HMAC>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: urllib would turn the POST into a GET."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def channel(options: Options) -> Callable[[OutboxMessage], None]:
    """Read ``url``, ``secret`` and ``timeout`` (seconds), and return the channel's ``deliver``.

    The body is :meth:`OutboxMessage.to_dict` as JSON (UTF-8);
    ``X-CRM-Signature: sha256=<hex>`` is the HMAC-SHA256 of exactly those
    bytes with ``secret``. Any answer but 2xx, or no answer, is a failure.
    """
    url = options.text("url", required=True)
    secret = options.text("secret", required=True)
    assert url is not None and secret is not None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            _("crm.toml [channels.webhook] url must be http(s)://…, not {url!r}", url=url)
        )
    timeout = options.number("timeout", 10.0)
    opener = urllib.request.build_opener(_NoRedirect)

    def deliver(message: OutboxMessage) -> None:
        body = json.dumps(message.to_dict(), ensure_ascii=False, sort_keys=True).encode()
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header(SIGNATURE_HEADER, sign(secret, body))
        request.add_header("X-CRM-Outbox-Id", str(message.id))
        # A non-2xx answer raises HTTPError (redirects included, see _NoRedirect).
        with opener.open(request, timeout=timeout) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"{url} answered {response.status}")

    return deliver
