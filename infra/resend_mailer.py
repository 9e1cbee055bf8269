"""E-mail through Resend's official SDK, or to the log when no key is configured.

The SDK keeps its key and base URL in module globals (``resend.api_key``, and
``resend.api_url``, which it reads from ``RESEND_API_URL`` when imported). The
adapter sets both from the settings before each call, under a lock, so the
settings decide — not whatever the environment held at import time.
"""

import logging
import threading
from collections.abc import Mapping

import resend
from resend.exceptions import ResendError

from commands.notify.ports import MailDeliveryFailed, Mailer
from infra.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.resend.com"

_SDK = threading.Lock()


class ResendMailer:
    def __init__(self, api_key: str, sender: str, api_url: str | None = None) -> None:
        self._api_key = api_key
        self._sender = sender
        self._api_url = (api_url or DEFAULT_API_URL).rstrip("/")

    def send(self, to: str, subject: str, text: str, html: str, idempotency_key: str) -> str:
        params: resend.Emails.SendParams = {
            "from": self._sender,
            "to": [to],
            "subject": subject,
            "text": text,
            "html": html,
        }
        options: resend.Emails.SendOptions = {"idempotency_key": idempotency_key}
        try:
            with _SDK:
                resend.api_key = self._api_key
                resend.api_url = self._api_url
                answer = resend.Emails.send(params, options)
        except ResendError as error:
            raise _failure(error) from error
        message_id = answer.get("id") if isinstance(answer, Mapping) else None
        if not message_id:
            raise MailDeliveryFailed("Resend answered without a message id.", retryable=True)
        return str(message_id)


class LoggingMailer:
    """Without RESEND_API_KEY: e-mails are written to the log (development)."""

    def send(self, to: str, subject: str, text: str, html: str, idempotency_key: str) -> str:
        log.info("e-mail to %s: %s", to, subject)
        log.debug("%s", text)
        return f"logged:{idempotency_key}"


def build_mailer(settings: Settings) -> Mailer:
    key = settings.resend_api_key
    if key is None or not key.get_secret_value():
        return LoggingMailer()
    return ResendMailer(key.get_secret_value(), settings.notify_from, settings.resend_api_url)


def _failure(error: ResendError) -> MailDeliveryFailed:
    """Rate limits, conflicts of concurrent idempotent requests, server and network errors
    are worth retrying; a refused e-mail or key is not."""
    try:
        status = int(error.code)
    except (TypeError, ValueError):
        status = 500
    retryable = status in (408, 409, 429) or status >= 500
    message = f"Resend {status} {error.error_type}: {error.message}"
    return MailDeliveryFailed(message, retryable=retryable, retry_after=_retry_after(error.headers))


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None
