"""What each backend setting may hold: one rule per key, for every backend.

The same rule is read where a models file is read (``registry``: the error names the key's
line) and where a backend is built (``openai_settings``, ``hf_settings``: the error names
the model), so a key is never accepted in one place and refused in the other, and its
message says the same thing in both. A rule returns what is wrong, in words that follow the
key's name ("must be ..."), or ``None``; a value that may be a secret is never quoted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

from rest_checks.models.base import ModelError
from rest_checks.options import NOT_A_VARIABLE_NAME, is_variable_name

Rule = Callable[[Any], "str | None"]

MEMORY_EXAMPLE = '{0 = "70GiB", cpu = "100GiB"}'
# The value ``temperature`` and ``top_p`` take to be left out of the request.
OMIT = "omit"


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def whole_number(least: int | None) -> Rule:
    """An integer (not a bool), at least ``least`` where one is given."""

    def rule(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, got {value!r}"
        if least is not None and value < least:
            return f"must be at least {least}, got {value!r}"
        return None

    return rule


def seconds(*, above_zero: bool) -> Rule:
    """A finite number of seconds: above 0 (a time limit) or 0 or more (a delay)."""
    bound = "above 0" if above_zero else "0 or more"

    def rule(value: Any) -> str | None:
        if (
            not _is_number(value)
            or not math.isfinite(value)
            or value < 0
            or (above_zero and value == 0)
        ):
            return f"must be a finite number of seconds {bound}, got {value!r}"
        return None

    return rule


def _sampling(value: Any) -> str | None:
    if value == OMIT:
        return None
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        return f'must be a finite number of 0 or more (or "{OMIT}"), got {value!r}'
    return None


def _price(value: Any) -> str | None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        return f"must be a price per million tokens, a number of 0 or more, got {value!r}"
    return None


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else f"must be a string, got {value!r}"


def _image_detail(value: Any) -> str | None:
    if value in ("low", "high", "auto"):
        return None
    return f"must be 'low', 'high' or 'auto', got {value!r}"


def _memory_table(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return None
    return f"must be a table of device -> size, e.g. {MEMORY_EXAMPLE}; got {value!r}"


def _variable_name(value: Any) -> str | None:
    # Never quoted: a key pasted here by mistake would be printed.
    return None if isinstance(value, str) and is_variable_name(value) else NOT_A_VARIABLE_NAME


RULES: dict[str, Rule] = {
    # Both API and local backends.
    "concurrency": whole_number(1),
    "batch_size": whole_number(1),
    "base_url": _string,
    "device": _string,
    "dtype": _string,
    "api_key_env": _variable_name,
    "price_prompt": _price,
    "price_completion": _price,
    # OpenAI-compatible servers.
    "temperature": _sampling,
    "top_p": _sampling,
    "seed": whole_number(None),
    "max_tokens": whole_number(1),
    "max_completion_tokens_param": _flag,
    "image_detail": _image_detail,
    "max_retries": whole_number(0),
    "retry_base_delay": seconds(above_zero=False),
    "retry_max_delay": seconds(above_zero=False),
    "retry_after_max": seconds(above_zero=False),
    "timeout": seconds(above_zero=True),
    # Local transformers models.
    "min_pixels": whole_number(1),
    "max_pixels": whole_number(1),
    "revision": _string,
    "max_new_tokens": whole_number(1),
    "attn_implementation": _string,
    "max_memory": _memory_table,
    "fast_path": _flag,
    "trust_remote_code": _flag,
}


def problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the setting ``key`` (``None``: nothing, or a key
    without a rule: which keys a backend takes is the backend's to say)."""
    rule = RULES.get(key)
    return None if rule is None else rule(value)


def check(owner: str, key: str, value: Any) -> None:
    """Raise a ``ModelError`` naming ``owner`` (``"model 'hf:x'"``) when ``value`` breaks
    the rule of ``key``."""
    found = problem(key, value)
    if found is not None:
        raise ModelError(f"{owner}: {key} {found}")


def check_settings(
    owner: str, settings: Mapping[str, Any], known: Collection[str], kind: str = "setting"
) -> None:
    """Raise a ``ModelError`` naming ``owner`` for a key of ``settings`` its backend does
    not take (``known``) or a value that breaks its key's rule."""
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ModelError(
            f"{owner}: unknown {kind}(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    for key, value in settings.items():
        check(owner, key, value)
