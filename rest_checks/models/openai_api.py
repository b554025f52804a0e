"""Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, llama.cpp, ...).

One request becomes one user message (``openai_payload``): the prompt, after the request's
exact PNG bytes where it has an image.

Retries are ours, not the SDK's (``openai_retries``): 408/409/429, 5xx, timeouts,
connection errors and malformed replies are retried with exponential backoff and full
jitter, honouring ``Retry-After``. A request that still fails, or fails in a way retrying
cannot mend (another 4xx, a ``Retry-After`` beyond ``retry_after_max``), fails alone: its
``Response`` carries the ``error`` and the other requests of the batch go on. Only a
refused key (401/403: ``ModelAuthError``), an exhausted quota (429
``insufficient_quota``: ``QuotaExhaustedError``, a ``ModelAuthError``) or a TLS
certificate that does not verify (``ModelUnusableError``) stops the batch, since no
request could succeed after it: ``generate`` raises it and queued requests are
never sent (``openai_errors``).

Requests go out through ``chat_http.ChatSender`` (the standard library's ``http.client``
over keep-alive connections), not through the official SDK: importing the SDK
took about 0.45 s of every run's start-up and its request path about 1 ms of CPU a request
more, which a fast server makes the run's limit. The requests are the ones the SDK sends
(``tests/unit/test_chat_http.py`` compares them), with its ``OPENAI_ORG_ID`` and
``OPENAI_PROJECT_ID`` headers.

The API key never leaves the sender: it is not in ``identity()``, ``repr()``, log records
or error messages. Server text is scrubbed of it (and of any bearer token) before it is
quoted, and the transport's exceptions, which hold server text as it came, never leave the
backend: not raised, not chained, not in a traceback's frames (``-l`` shows locals).

Settings (``rest_models.toml`` keys or ``settings=``; ``openai_settings``), the first
group part of the identity:

- ``temperature`` (default 0; ``"omit"`` sends none, the default for gpt-5/o-series
  models, which accept only their own), ``top_p``, ``seed``,
- ``max_tokens``: one answer budget for every request instead of each request's own,
- ``max_completion_tokens_param``: send ``max_completion_tokens`` instead of
  ``max_tokens`` (default: true for gpt-5/o-series names),
- ``image_detail``: OpenAI's ``"low" | "high" | "auto"``; not sent unless set;
- ``max_retries`` (6), ``retry_base_delay`` (0.5 s), ``retry_max_delay`` (30 s),
  ``retry_after_max`` (120 s: a longer Retry-After fails at once), ``timeout`` (180 s per
  attempt, headers to last byte: a reply that trickles in is cut at it). None of these
  change an answer, so none is part of the identity.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from rest_checks import __version__
from rest_checks.models import setting_rules
from rest_checks.models.base import (
    Collected,
    Model,
    ModelAuthError,
    ModelError,
    ModelUnusableError,
    ReplySink,
    Response,
)
from rest_checks.models.chat_http import ChatSender
from rest_checks.models.openai_errors import (
    Cancelled,
    ErrorReader,
    QuotaExhaustedError,
    parse_retry_after,
    scrub,
)
from rest_checks.models.openai_payload import MAX_REPLY_CHARS, chat_payload, parse_reply
from rest_checks.models.openai_retries import backoff_delay, with_retries
from rest_checks.models.openai_settings import (
    DEFAULT_BASE_URL,
    base_url_from,
    credentials_in,
    is_local_url,
    public_url,
    settings_from,
)
from rest_checks.progress import say
from rest_checks.prompts import Request

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_REPLY_CHARS",
    "OpenAIModel",
    "QuotaExhaustedError",
    "backoff_delay",
    "credentials_in",
    "is_local_url",
    "parse_retry_after",
    "public_url",
    "scrub",
]

log = logging.getLogger(__name__)

# Sent to local servers that ignore the key (Ollama, vLLM, llama.cpp without --api-key).
LOCAL_DUMMY_KEY = "not-needed"

T = TypeVar("T")
# The name ``stream``'s body (kept as it was) knows it by.
_Cancelled = Cancelled


def request_headers(key: str) -> dict[str, str]:
    """The headers of every request: the key, and the organisation and project that the
    official client would send from the same environment variables."""
    headers = {"Authorization": f"Bearer {key}", "User-Agent": f"rest-checks/{__version__}"}
    for header, variable in (
        ("OpenAI-Organization", "OPENAI_ORG_ID"),
        ("OpenAI-Project", "OPENAI_PROJECT_ID"),
    ):
        value = os.environ.get(variable, "").strip()
        if value:
            headers[header] = value
    return headers


class OpenAIModel(Model):
    """A model behind an OpenAI-compatible Chat Completions endpoint.

    ``generate`` sends up to ``concurrency`` requests at once (threads sharing one
    client, whose connections outlive the call) and returns the answers in request order.
    Concurrency does not change answers, so it is not part of ``identity()``; nor do
    ``timeout`` and the retry settings.
    """

    def __init__(
        self,
        name: str,
        *,
        spec: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        api_key: str | None = None,
        concurrency: int = 16,
        settings: dict[str, Any] | None = None,
    ) -> None:
        setting_rules.check(f"openai model {name!r}", "concurrency", concurrency)
        setting_rules.check(f"openai model {name!r}", "api_key_env", api_key_env)
        self.name = name
        self.spec = spec
        self.concurrency = concurrency
        self.api_key_env = api_key_env
        self.settings = settings_from(name, settings or {})
        url = base_url_from(name, base_url, api_key_env)
        self.base_url = public_url(url)
        # Nothing below raises while the key is a local of this frame (tracebacks with
        # locals would show it), but the sender's construction, whose errors name no header.
        key = api_key or os.environ.get(api_key_env, "").strip() or None
        if key is None:
            if not is_local_url(url):
                raise ModelAuthError(
                    f"openai model {name!r}: no API key for {self.base_url}; set the "
                    f"environment variable {api_key_env}"
                )
            key = LOCAL_DUMMY_KEY
        # Kept only to scrub it from server text we quote; short dummy keys are no secret.
        secret = key if len(key) >= 4 and key != LOCAL_DUMMY_KEY else None
        self._errors = ErrorReader(name, self.base_url, api_key_env, secret)
        try:
            self._sender = ChatSender(url, request_headers(key), self.settings.timeout)
        except ValueError as exc:  # a proxy the environment names that cannot be used
            raise ModelError(f"openai model {name!r}: {exc}") from None
        self._rng = random.Random()
        self._announced = False
        self._lock = threading.Lock()

    # -- the Model interface -------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "name": self.name,
            "base_url": self.base_url,
            "settings": self.settings.identity(),
        }

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        """Every request's ``Response``, in order; one that fails for good has ``error``
        set. A refused key, an exhausted quota or a refused certificate raises
        (``ModelUnusableError``) instead."""
        requests = list(requests)
        collected = Collected(len(requests))
        self.stream(requests, collected)
        return collected.replies()

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        """Send up to ``concurrency`` requests at once; each reply goes to ``sink`` from the
        thread that received it, before that thread sends its next request. A request's
        payload (its page rendered, base64-encoded) is built in its thread, just before it
        is sent, so pages are rendered while earlier requests are out."""
        requests = list(requests)
        if not requests:
            return
        self._announce(len(requests))
        stop = threading.Event()
        fatal: list[BaseException] = []

        def complete(index: int, request: Request) -> None:
            try:
                if stop.is_set():
                    raise _Cancelled
                response = self._complete(request, stop, sink)
                sink.reply(index, response)
            except BaseException as exc:
                # Stop the batch from this thread, before the pool can start another request.
                # The first error is the cause; later ones (``_Cancelled``) only follow it.
                fatal.append(exc)
                stop.set()
                raise

        pool = ThreadPoolExecutor(min(self.concurrency, len(requests)), "rest-checks-openai")
        try:
            futures = [pool.submit(complete, i, r) for i, r in enumerate(requests)]
            wait(futures, return_when=FIRST_EXCEPTION)
            if fatal:
                raise fatal[0]
        finally:
            # After a refused key or an interrupt, queued requests are dropped and waiting
            # retries wake up and quit; calls already on the wire finish in the background.
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._sender.close()

    def __repr__(self) -> str:
        return (
            f"OpenAIModel(name={self.name!r}, spec={self.spec!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.api_key_env!r}, api_key=<hidden>, concurrency={self.concurrency})"
        )

    # -- internals -----------------------------------------------------------------------
    def _announce(self, n: int) -> None:
        with self._lock:
            if self._announced:
                return
            self._announced = True
        message = (
            f"contacting {self.base_url} for model {self.name!r} "
            f"({n} requests, up to {self.concurrency} at once)"
        )
        log.info(message)
        say(message)

    def _payload(self, request: Request) -> dict[str, Any]:
        return chat_payload(self.name, self.settings, request)

    def _complete(self, request: Request, stop: threading.Event, sink: ReplySink) -> Response:
        """One request's reply, or a ``Response`` with ``error`` once it fails for good."""
        payload = self._payload(request)

        def call() -> Response:
            body = json.dumps(payload).encode()
            text = self._sender.post("chat/completions", body, self.settings.timeout, stop)
            return parse_reply(text)

        try:
            what = f"request {request.item_id} ({request.modality})"
            return self._with_retries(call, what, stop, sink.retry)
        except ModelUnusableError:  # a refused key, quota or certificate: stops the batch
            raise
        except ModelError as exc:
            log.warning("%s", exc)
            return Response("", error=str(exc))

    def _with_retries(
        self,
        call: Callable[[], T],
        what: str,
        stop: threading.Event,
        on_retry: Callable[[str], None] | None = None,
    ) -> T:
        """``call()``, retried while retrying can help; else a (scrubbed) ``ModelError``."""
        return with_retries(call, what, stop, self.settings, self._errors, self._rng, on_retry)
