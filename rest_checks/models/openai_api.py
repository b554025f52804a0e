"""Any OpenAI-compatible Chat Completions server (OpenAI, vLLM, Ollama, llama.cpp, ...).

One request becomes one user message. A text request sends the prompt as a string; a
request with an image sends two content parts, the image first and then the prompt (the
order of the vendors' own examples, and the one the paper's prompts read naturally in:
"the question is shown in the image ..."). The image goes as a ``data:image/png;base64``
URL of the request's exact PNG bytes: never resized or recompressed here.

Retries are ours, not the SDK's (``max_retries=0``), so that they are bounded, logged (at
WARNING, with the reason) and honour ``Retry-After``: 408/409/429, 5xx, timeouts,
connection errors and malformed replies are retried with exponential backoff and full
jitter. A request that still fails, or fails in a way retrying cannot mend (another 4xx, a
``Retry-After`` beyond ``retry_after_max``), fails alone: its ``Response`` carries the
``error`` and the other requests of the batch go on. Only a refused key (401/403:
``ModelAuthError``) or an exhausted quota (429 ``insufficient_quota``:
``QuotaExhaustedError``, a ``ModelAuthError``) stops the batch, since no request could
succeed after it: ``generate`` raises it and queued requests are never sent.

The API key never leaves the client: it is not in ``identity()``, ``repr()``, log records
or error messages. Server text is scrubbed of it (and of any bearer token) before it is
quoted, and the SDK's exceptions, which quote server text as it came, never leave this
module: not raised, not chained, not in a traceback's frames (``-l`` shows locals).

Settings (``rest_models.toml`` keys or ``settings=``), the first group part of the identity:

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

import base64
import email.utils
import json
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from rest_checks.models.base import (
    Collected,
    Model,
    ModelAuthError,
    ModelError,
    ReplySink,
    Response,
)
from rest_checks.models.http_deadline import deadline_client, guarded
from rest_checks.options import NOT_A_VARIABLE_NAME, is_variable_name
from rest_checks.progress import say
from rest_checks.prompts import Request

__all__ = [
    "DEFAULT_BASE_URL",
    "OpenAIModel",
    "QuotaExhaustedError",
    "backoff_delay",
    "is_local_url",
    "parse_retry_after",
    "public_url",
    "scrub",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Sent to local servers that ignore the key (Ollama, vLLM, llama.cpp without --api-key).
LOCAL_DUMMY_KEY = "not-needed"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Model families that reject a temperature other than their own and take
# max_completion_tokens instead of max_tokens.
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")
RETRY_STATUSES = frozenset({408, 409, 429})
EXCERPT_CHARS = 300
# A reply's text beyond this many characters is cut (and marked in its extras): no
# answer needs a megabyte, and a runaway one would swell every output of the run.
MAX_REPLY_CHARS = 1_000_000

T = TypeVar("T")


@dataclass(frozen=True)
class _Settings:
    temperature: float | None
    top_p: float | None
    seed: int | None
    max_tokens: int | None
    max_completion_tokens_param: bool
    image_detail: str | None
    max_retries: int
    retry_base_delay: float
    retry_max_delay: float
    retry_after_max: float
    timeout: float


class _Malformed(Exception):
    """A 200 reply that is not a usable chat completion (retried like a server error)."""


class _Cancelled(Exception):
    """The batch stopped (a refused key, an interrupt): this request gives up quietly."""


@dataclass(frozen=True)
class _Failed:
    """A failed attempt in scrubbed words: why (when a retry can help), or what to raise."""

    reason: str
    retry_after: float | None
    final: BaseException | None


class QuotaExhaustedError(ModelAuthError):
    """The account's quota is exhausted (HTTP 429 ``insufficient_quota``).

    A ``ModelAuthError``: like a refused key, no request can succeed until someone acts on
    the account, so it stops the batch and the run instead of failing every request.
    """


# A bearer token as a server may quote it back (``Authorization: Bearer sk-...``).
_BEARER = re.compile(r"(Bearer\s+)[^\s\"',;)\]}]+", re.IGNORECASE)


def scrub(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` and without any bearer token it quotes."""
    if secret:
        text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (where servers usually need no key)."""
    host = (urlsplit(url).hostname or "").lower()
    return (
        host in ("localhost", "::1", "0.0.0.0")
        or host.startswith("127.")
        or host.endswith(".localhost")
    )


def public_url(url: str) -> str:
    """``url`` without credentials, query or fragment, and without a trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


# Query parameters whose value is a credential (``?api-key=``, ``?access_token=``, ...).
_SECRET_PARAM = re.compile(r"key|token|secret|passw|auth|sig|credential", re.IGNORECASE)


def credentials_in(url: str) -> str | None:
    """Where ``url`` carries a credential (a user-info part, a key-like query parameter),
    in words; ``None`` when it carries none. Such a URL would be printed by HTTP logging
    and error messages, so it is refused rather than scrubbed."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return "a user name or password before the host (user:secret@host)"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_PARAM.search(name):
            return f"the query parameter {name!r}"
    return None


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


def backoff_delay(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    Exponential backoff with full jitter; a server's ``Retry-After`` is honoured as a
    floor, with jitter on top so that parallel requests do not return all at once.
    """
    rng = rng or random.Random()
    if retry_after is not None:
        return retry_after + rng.uniform(0, min(base, cap))
    return rng.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _settings_from(name: str, given: Mapping[str, Any]) -> _Settings:
    reasoning = name.rsplit("/", 1)[-1].lower().startswith(REASONING_PREFIXES)
    known = set(_Settings.__dataclass_fields__)
    unknown = sorted(set(given) - known)
    if unknown:
        raise ModelError(
            f"openai model {name!r}: unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )

    def number(key: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        value = given.get(key, default)
        if value is None or (key in ("temperature", "top_p") and value == "omit"):
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < minimum
        ):
            raise ModelError(
                f"openai model {name!r}: setting {key!r} must be a finite number >= "
                f"{minimum}, got {value!r}"
            )
        return float(value)

    def integer(key: str, default: int | None, *, minimum: int = 0) -> int | None:
        value = given.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ModelError(
                f"openai model {name!r}: setting {key!r} must be an integer >= {minimum}, "
                f"got {value!r}"
            )
        return value

    param = given.get("max_completion_tokens_param", reasoning)
    if not isinstance(param, bool):
        raise ModelError(
            f"openai model {name!r}: setting 'max_completion_tokens_param' must be true or "
            f"false, got {param!r}"
        )
    detail = given.get("image_detail")
    if detail is not None and detail not in ("low", "high", "auto"):
        raise ModelError(
            f"openai model {name!r}: setting 'image_detail' must be 'low', 'high' or 'auto', "
            f"got {detail!r}"
        )
    max_retries = integer("max_retries", 6)
    base = number("retry_base_delay", 0.5)
    cap = number("retry_max_delay", 30.0)
    after_max = number("retry_after_max", 120.0)
    timeout = number("timeout", 180.0, minimum=0.001)
    assert max_retries is not None and base is not None and cap is not None
    assert after_max is not None and timeout is not None
    return _Settings(
        temperature=number("temperature", None if reasoning else 0.0),
        top_p=number("top_p", None),
        seed=integer("seed", None, minimum=-(2**63)),
        max_tokens=integer("max_tokens", None, minimum=1),
        max_completion_tokens_param=param,
        image_detail=detail,
        max_retries=max_retries,
        retry_base_delay=base,
        retry_max_delay=cap,
        retry_after_max=after_max,
        timeout=timeout,
    )


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
        if concurrency < 1:
            raise ModelError(f"openai model {name!r}: concurrency must be at least 1")
        if not isinstance(api_key_env, str) or not is_variable_name(api_key_env):
            raise ModelError(f"openai model {name!r}: api_key_env {NOT_A_VARIABLE_NAME}")
        self.name = name
        self.spec = spec
        self.concurrency = concurrency
        self.api_key_env = api_key_env
        self.settings = _settings_from(name, settings or {})
        url = base_url or os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL
        if urlsplit(url).scheme not in ("http", "https"):
            raise ModelError(
                f"openai model {name!r}: base URL {public_url(url)!r} must start with "
                "http:// or https://"
            )
        secret = credentials_in(url)
        if secret is not None:
            raise ModelError(
                f"openai model {name!r}: the base URL {public_url(url)!r} holds {secret}; "
                f"remove it and put the key in the environment variable {api_key_env} "
                "(a URL is printed by logs and error messages, a key variable never is)"
            )
        self._url = url
        self.base_url = public_url(url)

        try:
            import openai
        except ImportError as exc:  # pragma: no cover - openai is a dev dependency
            raise ModelError(
                "the openai backend needs the openai package: pip install 'rest-checks[openai]'"
            ) from exc
        # Nothing below raises while the key is a local of this frame (tracebacks with
        # locals would show it), but the client's construction.
        key = api_key or os.environ.get(api_key_env, "").strip() or None
        if key is None:
            if not is_local_url(url):
                raise ModelAuthError(
                    f"openai model {name!r}: no API key for {self.base_url}; set the "
                    f"environment variable {api_key_env}"
                )
            key = LOCAL_DUMMY_KEY
        # Kept only to scrub it from server text we quote; short dummy keys are no secret.
        self._secret = key if len(key) >= 4 and key != LOCAL_DUMMY_KEY else None

        self._client = openai.OpenAI(
            base_url=url,
            api_key=key,
            max_retries=0,
            timeout=self.settings.timeout,
            # Bounds each reply as a whole and lets a stopped batch drop what is in flight.
            http_client=deadline_client(openai, self.settings.timeout),
        )
        self._rng = random.Random()
        self._announced = False
        self._lock = threading.Lock()

    # -- the Model interface -------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {
            "backend": "openai",
            "name": self.name,
            "base_url": self.base_url,
            "settings": {
                "temperature": s.temperature,
                "top_p": s.top_p,
                "seed": s.seed,
                "max_tokens": s.max_tokens if s.max_tokens is not None else "per-request",
                "max_tokens_param": (
                    "max_completion_tokens" if s.max_completion_tokens_param else "max_tokens"
                ),
                "image_detail": s.image_detail,
                "image_position": "before-text",
            },
        }

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        """Every request's ``Response``, in order; one that fails for good has ``error``
        set. A refused key or an exhausted quota raises (``ModelAuthError``) instead."""
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
        self._client.close()

    def warmup(self) -> list[str]:
        """List the server's models (a cheap check of address and key); no generation.

        Returns the model ids, or ``[]`` where the server has no model list. Logs a
        warning when ``name`` is not among them.
        """
        import openai

        self._announce(0)

        stop = threading.Event()

        def list_models() -> list[str]:
            try:
                with guarded(self.settings.timeout, stop):
                    return [m.id for m in self._client.models.list().data]
            except openai.NotFoundError:
                return []

        ids = self._with_retries(list_models, "listing models", stop)
        if ids and self.name not in ids:
            log.warning(
                "%s does not list model %r (it lists %d)", self.base_url, self.name, len(ids)
            )
        return ids

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
        s = self.settings
        content: str | list[dict[str, Any]]
        if request.image_png is None:
            content = request.prompt
        else:
            if not request.image_png.startswith(PNG_SIGNATURE):
                raise ModelError(
                    f"request {request.item_id} ({request.modality}): image is not PNG data"
                )
            image_url: dict[str, Any] = {
                "url": "data:image/png;base64," + base64.b64encode(request.image_png).decode()
            }
            if s.image_detail is not None:
                image_url["detail"] = s.image_detail
            content = [
                {"type": "image_url", "image_url": image_url},
                {"type": "text", "text": request.prompt},
            ]
        payload: dict[str, Any] = {
            "model": self.name,
            "messages": [{"role": "user", "content": content}],
        }
        if s.temperature is not None:
            payload["temperature"] = s.temperature
        if s.top_p is not None:
            payload["top_p"] = s.top_p
        if s.seed is not None:
            payload["seed"] = s.seed
        budget = s.max_tokens if s.max_tokens is not None else request.max_tokens
        payload["max_completion_tokens" if s.max_completion_tokens_param else "max_tokens"] = budget
        return payload

    def _complete(self, request: Request, stop: threading.Event, sink: ReplySink) -> Response:
        """One request's reply, or a ``Response`` with ``error`` once it fails for good."""
        payload = self._payload(request)

        def call() -> Response:
            # The client's own request path (auth, errors, timeouts) without the typed
            # wrapper of ``chat.completions.create``, whose checks of the payload and the
            # reply cost more CPU than the rest of the call: the reply is read here.
            with guarded(self.settings.timeout, stop):
                text = self._client.post("/chat/completions", cast_to=str, body=payload)
            return self._parse(text)

        try:
            what = f"request {request.item_id} ({request.modality})"
            return self._with_retries(call, what, stop, sink.retry)
        except ModelAuthError:
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
        s = self.settings
        attempt = 0
        while not stop.is_set():
            attempt += 1
            try:
                return call()
            except Exception as exc:
                if stop.is_set():
                    break  # the batch stopped under it: no retry, nothing to report
                failed = self._failed(exc, what)
            # Raised here, after the ``except`` block: the SDK's exception, which may quote
            # the key in server text, is then in no frame and no exception chain.
            if failed.final is not None:
                raise failed.final
            failure, retry_after = failed.reason, failed.retry_after
            if attempt > s.max_retries:
                raise self._error(
                    f"{what} failed after {attempt} attempt(s); last error: {failure}"
                )
            if retry_after is not None and retry_after > s.retry_after_max:
                raise self._error(
                    f"{what}: the server asks to wait {retry_after:.0f} s (more than "
                    f"retry_after_max = {s.retry_after_max:.0f} s); last error: {failure}"
                )
            delay = backoff_delay(
                attempt, s.retry_base_delay, s.retry_max_delay, retry_after, self._rng
            )
            log.warning(
                "%s: %s; retry %d of %d in %.2f s", what, failure, attempt, s.max_retries, delay
            )
            if on_retry is not None:
                on_retry(failure)
            stop.wait(delay)
        raise _Cancelled

    def _failed(self, exc: Exception, what: str) -> _Failed:
        """What a failed attempt means, in scrubbed words: why it failed and the
        ``Retry-After`` asked for when a retry can help, else the error to raise."""
        try:
            reason, retry_after = self._retryable(exc, what)
        except Exception as final:
            if final is exc:  # not the server's: raised as it is
                return _Failed("", None, exc)
            # Neither the traceback (its frames hold ``exc``) nor the chain goes with it.
            final.__context__ = None
            return _Failed("", None, final.with_traceback(None))
        return _Failed(self._scrub(reason), retry_after, None)

    def _retryable(self, exc: Exception, what: str) -> tuple[str, float | None]:
        """Why an attempt failed and the ``Retry-After`` asked for, when a retry can help;
        otherwise raise the final error (``exc`` itself when it is not the server's)."""
        import openai

        if isinstance(exc, _Malformed):
            return f"malformed reply: {exc}", None
        if isinstance(exc, openai.APITimeoutError):
            return f"no reply within {self.settings.timeout:g} s", None
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return f"connection failed ({type(cause).__name__}: {cause})", None
        if not isinstance(exc, openai.OpenAIError):
            raise exc
        if not isinstance(exc, openai.APIStatusError):
            raise self._error(f"{what}: {type(exc).__name__}: {_excerpt(str(exc))}")
        status = exc.status_code
        body = self._scrub(_excerpt(_response_text(exc)))
        if status in (401, 403):
            raise ModelAuthError(
                f"{self.base_url} refused the API key for model {self.name!r} (HTTP "
                f"{status}); check the environment variable {self.api_key_env}. "
                f"Server said: {body}"
            )
        if status == 429 and exc.code == "insufficient_quota":
            raise QuotaExhaustedError(
                f"{self.base_url}: the account's quota is exhausted (HTTP 429 "
                f"insufficient_quota); retrying cannot help. Server said: {body}"
            )
        if 300 <= status < 400:
            location = exc.response.headers.get("location", "")
            to = f" to {public_url(location)}" if location else ""
            raise self._error(
                f"{what}: the server redirects{to} (HTTP {status}); redirects are not "
                "followed (they would drop the key or turn the request into a GET): use "
                "the address it names as the base URL (--model-base-url)"
            )
        if status in RETRY_STATUSES or status >= 500:
            return f"HTTP {status}: {body}", parse_retry_after(exc.response.headers)
        hint = self._hint(status, body)
        raise self._error(f"{what} was rejected (HTTP {status}): {body}{hint}")

    def _error(self, message: str) -> ModelError:
        return ModelError(self._scrub(f"{self.name} at {self.base_url}: {message}"))

    def _hint(self, status: int, body: str) -> str:
        lowered = body.lower()
        if status == 404:
            return f" (is {self.name!r} a model this server serves?)"
        if "max_completion_tokens" in lowered and not self.settings.max_completion_tokens_param:
            return " (hint: set max_completion_tokens_param = true for this model)"
        if "temperature" in lowered and self.settings.temperature is not None:
            return ' (hint: set temperature = "omit" for this model)'
        return ""

    def _parse(self, body: str) -> Response:
        try:
            data = json.loads(body)
        except ValueError:
            raise _Malformed(f"body is not JSON: {_excerpt(body, 120)!r}") from None
        if not isinstance(data, dict):
            raise _Malformed(f"body is not a JSON object: {_excerpt(body, 120)!r}")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            error = data.get("error")
            said = f" (error: {_excerpt(json.dumps(error), 200)})" if error else ""
            raise _Malformed(f"reply has no choices{said}")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise _Malformed("first choice has no message")
        content = message.get("content")
        if isinstance(content, list):  # some servers return content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if content is not None and not isinstance(content, str):
            raise _Malformed(f"message content is {type(content).__name__}, not text")
        if not content or not content.strip():
            # A refusal, an answer cut off before any text, a server that lost it: no
            # answer to judge or to cache. Retried like any malformed reply.
            said = "null" if content is None else repr(content)
            why = f"finish_reason {choice.get('finish_reason')!r}"
            if message.get("refusal"):
                why += f", refusal {_excerpt(str(message['refusal']), 120)!r}"
            raise _Malformed(f"the reply has no text (content {said}, {why})")
        extra: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        if len(content) > MAX_REPLY_CHARS:
            # Kept whole, a runaway reply would swell the results, reports and cache.
            extra["cut_from_chars"] = len(content)
            content = content[:MAX_REPLY_CHARS]
        if isinstance(data.get("model"), str):
            extra["served_model"] = data["model"]
        usage = data.get("usage")
        if isinstance(usage, dict):
            extra["usage"] = {
                k: usage[k]
                for k in ("prompt_tokens", "completion_tokens")
                if isinstance(usage.get(k), int)
            }
        if message.get("refusal"):
            extra["refusal"] = str(message["refusal"])
        return Response(content, None, extra)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secret)


def _response_text(exc: Any) -> str:
    try:
        return str(exc.response.text)
    except Exception:  # the body could not be read: quote the SDK's message instead
        return str(getattr(exc, "message", exc))
