"""When to ask an OpenAI-compatible server again: bounded retries with exponential
backoff and full jitter, honouring ``Retry-After`` up to ``retry_after_max``.

Retries are ours (the sender tries each request once), so that they are bounded, logged
at WARNING with their reason, and stop the moment the batch stops.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import TypeVar

from rest_checks.models.openai_errors import Cancelled, ErrorReader
from rest_checks.models.openai_settings import OpenAISettings

T = TypeVar("T")

# Logged under the backend's name, where users already look for its warnings.
log = logging.getLogger("rest_checks.models.openai_api")


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


def with_retries(
    call: Callable[[], T],
    what: str,
    stop: threading.Event,
    settings: OpenAISettings,
    errors: ErrorReader,
    rng: random.Random,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """``call()``, retried while retrying can help; else a (scrubbed) ``ModelError``.
    Raises ``Cancelled`` once ``stop`` is set."""
    s = settings
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            return call()
        except Exception as exc:
            if stop.is_set():
                break  # the batch stopped under it: no retry, nothing to report
            failed = errors.read(exc, what, settings)
        # Raised here, after the ``except`` block: the transport's exception, which may quote
        # the key in server text, is then in no frame and no exception chain.
        if failed.final is not None:
            raise failed.final
        failure, retry_after = failed.reason, failed.retry_after
        if attempt > s.max_retries:
            raise errors.error(f"{what} failed after {attempt} attempt(s); last error: {failure}")
        if retry_after is not None and retry_after > s.retry_after_max:
            raise errors.error(
                f"{what}: the server asks to wait {retry_after:.0f} s (more than "
                f"retry_after_max = {s.retry_after_max:.0f} s); last error: {failure}"
            )
        delay = backoff_delay(attempt, s.retry_base_delay, s.retry_max_delay, retry_after, rng)
        log.warning(
            "%s: %s; retry %d of %d in %.2f s", what, failure, attempt, s.max_retries, delay
        )
        if on_retry is not None:
            on_retry(failure)
        stop.wait(delay)
    raise Cancelled
