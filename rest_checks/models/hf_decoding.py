"""The decoding settings of the transformers backend: greedy, and nothing else.

``generate`` fills every setting it is not given from the checkpoint's
``generation_config.json``. Published Qwen2-VL and Qwen2.5-VL checkpoints carry
``repetition_penalty`` 1.05 (with ``do_sample``, ``temperature``, ``top_k`` and ``top_p``),
and the penalty counts the prompt's tokens too: digits and variables given as text would be
penalised, those read from an image not, which biases exactly the text/image comparison the
suite makes. So the backend replaces the checkpoint's generation config with one of its own:
greedy, no penalty, no sampling filter, and only the checkpoint's stop tokens (its EOS list)
and padding id carried over.

transformers is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Every decoding value the identity names; greedy search reads no other.
GREEDY = {"do_sample": False, "num_beams": 1, "repetition_penalty": 1.0}


def token_ids(value: Any) -> list[int]:
    """An ``eos_token_id``-style value (``None``, an int or a list of ints) as a list."""
    if value is None:
        return []
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return [int(v) for v in value if v is not None]
    return [int(value)]


def checkpoint_eos_ids(generation: Any, config: Any) -> list[int]:
    """The stop tokens of a checkpoint: its generation config's EOS list, else its model
    config's (or its text config's) EOS id; ``[]`` when neither names one."""
    ids = token_ids(getattr(generation, "eos_token_id", None))
    if ids:
        return ids
    for holder in (config, _text_config(config)):
        ids = token_ids(getattr(holder, "eos_token_id", None))
        if ids:
            return ids
    return []


def _text_config(config: Any) -> Any:
    getter = getattr(config, "get_text_config", None)
    return getter() if callable(getter) else None


def greedy_config(eos_ids: list[int], pad_id: int, bos_id: int | None) -> Any:
    """A ``GenerationConfig`` for plain greedy search that stops at any of ``eos_ids``."""
    from transformers import GenerationConfig

    return GenerationConfig(
        **GREEDY,
        eos_token_id=list(eos_ids),
        pad_token_id=pad_id,
        bos_token_id=bos_id,
    )
