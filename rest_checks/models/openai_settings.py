"""Settings of an OpenAI-compatible model: the base URL, and the generation and retry
settings, read and checked once where the model is built.

Each value follows its rule in ``setting_rules`` (the rules a models file is read with);
what is left here is the defaults, which depend on the model's family (gpt-5/o-series
models take no temperature but their own and ``max_completion_tokens``), and what part of
them is the model's identity.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from rest_checks.models import setting_rules
from rest_checks.models.base import ModelError
from rest_checks.models.chat_http import is_local_host

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Model families that reject a temperature other than their own and take
# max_completion_tokens instead of max_tokens.
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")


@dataclass(frozen=True)
class OpenAISettings:
    """What is sent with every request, and how failed requests are retried."""

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

    def identity(self) -> dict[str, Any]:
        """The settings that can change an answer (not the retries or the timeout)."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "max_tokens": self.max_tokens if self.max_tokens is not None else "per-request",
            "max_tokens_param": self.budget_param,
            "image_detail": self.image_detail,
            "image_position": "before-text",
        }

    @property
    def budget_param(self) -> str:
        """The request field that carries the answer's token budget."""
        return "max_completion_tokens" if self.max_completion_tokens_param else "max_tokens"


SETTING_NAMES = tuple(f.name for f in fields(OpenAISettings))


def is_reasoning_model(name: str) -> bool:
    """Whether ``name`` (``org/model`` or ``model``) is a gpt-5/o-series model."""
    return name.rsplit("/", 1)[-1].lower().startswith(REASONING_PREFIXES)


def settings_from(name: str, given: Mapping[str, Any]) -> OpenAISettings:
    """``given`` (a models file's table or ``settings=``) checked, with the defaults."""
    setting_rules.check_settings(f"openai model {name!r}", given, SETTING_NAMES)
    reasoning = is_reasoning_model(name)

    def sampling(key: str, default: float | None) -> float | None:
        value = given.get(key, default)
        return None if value is None or value == setting_rules.OMIT else float(value)

    return OpenAISettings(
        temperature=sampling("temperature", None if reasoning else 0.0),
        top_p=sampling("top_p", None),
        seed=given.get("seed"),
        max_tokens=given.get("max_tokens"),
        max_completion_tokens_param=given.get("max_completion_tokens_param", reasoning),
        image_detail=given.get("image_detail"),
        max_retries=given.get("max_retries", 6),
        retry_base_delay=float(given.get("retry_base_delay", 0.5)),
        retry_max_delay=float(given.get("retry_max_delay", 30.0)),
        retry_after_max=float(given.get("retry_after_max", 120.0)),
        timeout=float(given.get("timeout", 180.0)),
    )


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (where servers usually need no key)."""
    return is_local_host(urlsplit(url).hostname or "")


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


def base_url_from(name: str, given: str | None, api_key_env: str) -> str:
    """The server's base URL: ``given``, else ``OPENAI_BASE_URL``, else OpenAI's; refused
    unless it is http(s) and free of credentials."""
    url = given or os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_BASE_URL
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
    return url
