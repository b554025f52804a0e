"""What a failed request to an OpenAI-compatible server means, in words free of secrets.

Each failed attempt is read once (``ErrorReader.read``): either a reason a retry can help
with (408/409/429, 5xx, timeouts, connection errors, malformed replies), with the
``Retry-After`` the server asked for, or the error to raise: a ``ModelError`` for a
request that cannot succeed, a ``ModelAuthError`` for a refused key (401/403), a
``QuotaExhaustedError`` for an exhausted quota and a ``ModelUnusableError`` for a TLS
certificate that does not verify, which stop the batch.

Server text is scrubbed of the API key and of any bearer token before it is quoted, and
the transport's exceptions (``chat_http``), which hold server text as it came, are never
raised or chained: the errors made here carry neither their traceback nor their context.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from rest_checks.models.base import ModelAuthError, ModelError, ModelUnusableError
from rest_checks.models.chat_http import (
    CertificateRefused,
    ConnectionFailed,
    ReplyTooLarge,
    StatusError,
    TimedOut,
)
from rest_checks.models.openai_settings import OpenAISettings, public_url

RETRY_STATUSES = frozenset({408, 409, 429})
EXCERPT_CHARS = 300

# A bearer token as a server may quote it back (``Authorization: Bearer sk-...``).
_BEARER = re.compile(r"(Bearer\s+)[^\s\"',;)\]}]+", re.IGNORECASE)


class QuotaExhaustedError(ModelAuthError):
    """The account's quota is exhausted (HTTP 429 ``insufficient_quota``).

    A ``ModelAuthError``: like a refused key, no request can succeed until someone acts on
    the account, so it stops the batch and the run instead of failing every request.
    """


class MalformedReply(Exception):
    """A 200 reply that is not a usable chat completion (retried like a server error)."""


class Cancelled(Exception):
    """The batch stopped (a refused key, an interrupt): this request gives up quietly."""


@dataclass(frozen=True)
class Failed:
    """A failed attempt in scrubbed words: why (when a retry can help), or what to raise."""

    reason: str
    retry_after: float | None
    final: BaseException | None


def scrub(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` and without any bearer token it quotes."""
    if secret:
        text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a server asks us to wait: ``retry-after-ms``, or ``Retry-After`` as seconds
    or an HTTP date. ``None`` when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(seconds, 0.0)
    return seconds if seconds >= 0 else None


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class ErrorReader:
    """Reads the failures of one model's requests; holds what its messages name."""

    name: str
    base_url: str
    api_key_env: str
    # The key, to scrub it from server text; None where it is no secret (a local dummy).
    # Never in repr: a traceback shown with its locals would print it.
    secret: str | None = field(repr=False)

    def scrub(self, text: str) -> str:
        return scrub(text, self.secret)

    def error(self, message: str) -> ModelError:
        """A request's final error, naming the model and the server."""
        return ModelError(self.scrub(f"{self.name} at {self.base_url}: {message}"))

    def read(self, exc: Exception, what: str, settings: OpenAISettings) -> Failed:
        """What a failed attempt means, in scrubbed words: why it failed and the
        ``Retry-After`` asked for when a retry can help, else the error to raise."""
        try:
            reason, retry_after = self._retryable(exc, what, settings)
        except Exception as final:
            if final is exc:  # not the server's: raised as it is
                return Failed("", None, exc)
            # Neither the traceback (its frames hold ``exc``) nor the chain goes with it.
            final.__context__ = None
            return Failed("", None, final.with_traceback(None))
        return Failed(self.scrub(reason), retry_after, None)

    def _retryable(
        self, exc: Exception, what: str, settings: OpenAISettings
    ) -> tuple[str, float | None]:
        """Why an attempt failed and the ``Retry-After`` asked for, when a retry can help;
        otherwise raise the final error (``exc`` itself when it is not the server's)."""
        if isinstance(exc, MalformedReply):
            return f"malformed reply: {exc}", None
        if isinstance(exc, TimedOut):
            return f"no reply within {settings.timeout:g} s", None
        if isinstance(exc, CertificateRefused):  # no request can get through: stop
            raise ModelUnusableError(
                f"{self.base_url}: the server's TLS certificate was refused ({exc}); if "
                "it is signed by your own authority, name its certificate file in "
                "SSL_CERT_FILE"
            )
        if isinstance(exc, ConnectionFailed):
            return f"connection failed ({exc})", None
        if isinstance(exc, ReplyTooLarge):
            raise self.error(f"{what}: {exc}")
        if not isinstance(exc, StatusError):
            raise exc
        status = exc.status
        body = self.scrub(excerpt(exc.text or "(empty body)"))
        self._raise_if_final(status, exc.code, exc.headers, body, what)
        if not (status in RETRY_STATUSES or status >= 500):
            hint = self._hint(status, body, settings)
            raise self.error(f"{what} was rejected (HTTP {status}): {body}{hint}")
        return f"HTTP {status}: {body}", parse_retry_after(exc.headers)

    def _raise_if_final(
        self, status: int, code: str | None, headers: Mapping[str, str], body: str, what: str
    ) -> None:
        """Raise the error of a refused key, an exhausted quota or a redirect."""
        if status in (401, 403):
            raise ModelAuthError(
                f"{self.base_url} refused the API key for model {self.name!r} (HTTP "
                f"{status}); check the environment variable {self.api_key_env}. "
                f"Server said: {body}"
            )
        if status == 429 and code == "insufficient_quota":
            raise QuotaExhaustedError(
                f"{self.base_url}: the account's quota is exhausted (HTTP 429 "
                f"insufficient_quota); retrying cannot help. Server said: {body}"
            )
        if 300 <= status < 400:
            location = headers.get("location", "")
            to = f" to {public_url(location)}" if location else ""
            raise self.error(
                f"{what}: the server redirects{to} (HTTP {status}); redirects are not "
                "followed (they would drop the key or turn the request into a GET): use "
                "the address it names as the base URL (--model-base-url)"
            )

    def _hint(self, status: int, body: str, settings: OpenAISettings) -> str:
        lowered = body.lower()
        if status == 404:
            return f" (is {self.name!r} a model this server serves?)"
        if "max_completion_tokens" in lowered and not settings.max_completion_tokens_param:
            return " (hint: set max_completion_tokens_param = true for this model)"
        if "temperature" in lowered and settings.temperature is not None:
            return ' (hint: set temperature = "omit" for this model)'
        return ""
