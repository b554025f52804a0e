"""The one small interface every backend implements."""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rest_checks.prompts import Request


class ModelError(RuntimeError):
    """A model could not answer; the message says why and what to do."""


class ModelAuthError(ModelError):
    """Credentials were refused: retrying cannot help, so the run stops at once."""


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

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release whatever the model holds (threads, GPU memory)."""


def identity_key(identity: dict[str, Any]) -> str:
    """A short stable hash of a model identity, for file names and cache keys."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
