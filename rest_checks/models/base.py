"""The one small interface every backend implements."""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rest_checks.prompts import Request


class ModelError(RuntimeError):
    """A model could not answer; the message says why and what to do."""


class ModelUnusableError(ModelError):
    """No request can be answered (credentials refused, a model that cannot load):
    retrying cannot help, so the run stops at once, saying this message once."""


class ModelAuthError(ModelUnusableError):
    """Credentials were refused: retrying cannot help, so the run stops at once."""


class ModelLoadError(ModelUnusableError):
    """A local model cannot be loaded; the message says what failed, the file and the fix."""


class UnknownModelError(ValueError):
    """A model spec names nothing the registry knows."""


@dataclass(frozen=True)
class Response:
    """What a model said to one request."""

    text: str
    # How many visual tokens the request's image became, where the backend can tell.
    n_visual_tokens: int | None = None
    # Backend-specific extras that go to the results (e.g. the representation probe).
    extra: dict[str, Any] = field(default_factory=dict)
    # Set when this request failed for good (the backend gave up on it alone): no reply,
    # never cached, and the case it belongs to is a model error, not an inconsistency.
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "n_visual_tokens": self.n_visual_tokens, "extra": self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Response:
        return cls(str(data["text"]), data.get("n_visual_tokens"), dict(data.get("extra") or {}))


class ReplySink(Protocol):
    """Where a backend hands each reply the moment it has it (see ``Model.stream``)."""

    def reply(self, index: int, response: Response) -> None:
        """``response`` answers request number ``index``; called once per request, from
        whichever thread received it."""

    def retry(self, reason: str) -> None:
        """One attempt failed and will be retried, for ``reason``."""


class Model(abc.ABC):
    """A multimodal model under test.

    ``identity`` is what results are keyed by (cache, baselines): backend, name, revision
    and every generation setting that can change an answer. It must never hold secrets.
    """

    #: The spec the user gave (``"reference"``, ``"openai:gpt-4o-mini"``, ...).
    spec: str

    @abc.abstractmethod
    def identity(self) -> dict[str, Any]:
        """Backend, name, revision and generation settings; JSON-serialisable, no secrets."""

    @abc.abstractmethod
    def generate(self, requests: Sequence[Request]) -> list[Response]:
        """Answer every request, in order. Backends batch or parallelise as they can."""

    #: How many requests ``stream`` answers per call of ``generate`` by default: 1 for
    #: backends that answer one at a time; a batching backend overrides ``stream``.
    reply_batch: int = 1

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        """Answer every request, handing each reply to ``sink.reply`` as soon as it is ready,
        so that the caller can store it before the next one is awaited. By default
        ``generate`` answers ``reply_batch`` requests at a time; backends that work in
        parallel or in batches override this. Raises like ``generate``."""
        requests = list(requests)
        step = max(1, self.reply_batch)
        for start in range(0, len(requests), step):
            replies = self.generate(requests[start : start + step])
            for offset, response in enumerate(replies):
                sink.reply(start + offset, response)

    def fix_order(self, requests: Sequence[Request]) -> None:  # noqa: B027 - optional hook
        """Every request of the configured run, in the suite's fixed order, before any is
        asked: a batching backend forms its batches from it (``models.fixed_batches``), so
        which requests share a batch never depends on the cache, ``-k`` or ``-n``."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release whatever the model holds (threads, GPU memory)."""


class Collected:
    """A ``ReplySink`` that keeps the replies in request order (``generate`` by ``stream``)."""

    def __init__(self, count: int) -> None:
        self._replies: list[Response | None] = [None] * count

    def reply(self, index: int, response: Response) -> None:
        self._replies[index] = response

    def retry(self, reason: str) -> None:
        pass

    def replies(self) -> list[Response]:
        missing = [i for i, r in enumerate(self._replies) if r is None]
        if missing:
            raise ModelError(f"the backend left {len(missing)} request(s) unanswered")
        return [r for r in self._replies if r is not None]


def identity_json(identity: dict[str, Any]) -> str:
    """A model identity as canonical JSON (sorted keys, no spaces): what the response
    cache's keys and folder names are made of."""
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)


def identity_key(identity: dict[str, Any] | str) -> str:
    """The name of a model identity's folder in the response cache: 16 hex digits of the
    SHA-256 of its canonical JSON (given as a table, or already encoded by
    :func:`identity_json`)."""
    text = identity if isinstance(identity, str) else identity_json(identity)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
