"""What the tiny checkpoint builders share: a tokenizer trained on the spot, a seeded random
model, and a checkpoint directory that ``AutoProcessor`` and ``AutoModelForImageTextToText``
load back.

The tokenizer is a byte-level BPE trained on the project's own prompt text, equations and
digits, with the special tokens an architecture needs first (ids 0, 1, ...). Its vocabulary
is padded with filler entries (reachable by no merge, so tokenisation is unchanged) up to
the model's vocabulary size, so that every id a random model emits decodes to some distinct
text.

torch, tokenizers and transformers are imported inside the functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks import prompts
from rest_checks.items.base import ANSWER_TYPES, Item


def tokenizer_corpus() -> list[str]:
    """Our own text to train the tokenizer on: prompt templates, equations, digits, letters."""
    lines = [
        prompts.TEXT_TEMPLATE,
        prompts.IMAGE_TEMPLATE,
        prompts.MIXED_TEMPLATE,
        prompts.OCR_TEMPLATE,
        "You are a helpful assistant.",
        "system user assistant",
        "Solve the system for A, B and C.",
        "Solve the system for A, B, C, D and E.",
        "What is the value? Which option is correct?",
        "ANSWER: A = 1, B = -2, C = 3",
        "ANSWER: B",
        "ANSWER: 42",
        "ANSWER: -3/2",
        "0 1 2 3 4 5 6 7 8 9 10 11 12 100 2024 -7 3/4 2.5",
        "A B C D E F G H I J a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "+ - * / = ( ) . , : ; ? ! ' \"",
    ]
    for answer_type in ANSWER_TYPES:
        probe_item = Item("corpus", "corpus", "", "", "", answer_type)
        lines.append(prompts.reasoning_instruction(probe_item))
    # A deterministic spread of small equation systems, as the SoEBench items look.
    for i in range(60):
        a, b, c = i % 7 + 1, (3 * i) % 5 + 1, (5 * i) % 9 - 4
        lines.append(f"{a}A + {b}B - C = {a + b - 1}\nA - {c if c else 1}B + 2C = {i % 11}")
        lines.append(f"Step {i}: substitute A = {a} into equation {i % 3 + 1}, so B = {c}.")
    return lines


def train_tokenizer(vocab_size: int, special_tokens: Sequence[str]) -> Any:
    """A byte-level BPE ``tokenizers.Tokenizer`` of exactly ``vocab_size`` ids.

    The special tokens come first (ids 0, 1, ...); the learned vocabulary is padded with
    filler entries that no merge produces, so encoding is unaffected and every id decodes.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=min(vocab_size, 1024),
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(tokenizer_corpus(), trainer)
    learned = tokenizer.get_vocab_size()
    if learned > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is smaller than the {learned} learned tokens")
    if learned < vocab_size:
        data = json.loads(tokenizer.to_str())
        vocab = data["model"]["vocab"]
        next_id = max(vocab.values()) + 1
        for filler in range(vocab_size - learned):
            vocab[f"~{filler}~"] = next_id
            next_id += 1
        tokenizer = Tokenizer.from_str(json.dumps(data))
    return tokenizer


@dataclass(frozen=True)
class TokenizerSpec:
    """The special tokens of an architecture's tokenizer and the roles some of them play."""

    special_tokens: tuple[str, ...]
    eos: str
    pad: str
    bos: str | None = None
    unk: str | None = None
    #: Put ``bos`` before every sequence, as Llama tokenizers do.
    add_bos: bool = False
    model_max_length: int = 4096
    #: Named special tokens some processors read off the tokenizer (Gemma 3's
    #: ``boi_token``, ``image_token``, ...): (attribute, token) pairs.
    named: tuple[tuple[str, str], ...] = ()


def build_tokenizer(spec: TokenizerSpec, vocab_size: int) -> tuple[Any, dict[str, int]]:
    """A ``PreTrainedTokenizerFast`` of ``vocab_size`` ids, and the id of every special token."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    backend = train_tokenizer(vocab_size, spec.special_tokens)
    ids: dict[str, int] = {}
    for token in spec.special_tokens:
        value = backend.token_to_id(token)
        if not isinstance(value, int):
            raise ValueError(f"token {token!r} has no single id in the tokenizer")
        ids[token] = value
    if spec.add_bos:
        if spec.bos is None:
            raise ValueError("add_bos needs a bos token")
        backend.post_processor = processors.TemplateProcessing(
            single=f"{spec.bos} $A",
            pair=f"{spec.bos} $A {spec.bos} $B",
            special_tokens=[(spec.bos, ids[spec.bos])],
        )
    roles = {"bos_token": spec.bos, "eos_token": spec.eos, "pad_token": spec.pad}
    roles["unk_token"] = spec.unk
    extra = {"extra_special_tokens": dict(spec.named)} if spec.named else {}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=spec.model_max_length,
        **{role: token for role, token in roles.items() if token is not None},
        **extra,
    )
    return tokenizer, ids


def random_model(
    model_class: Any, config: Any, *, seed: int, dtype: str = "float32", device: str = "cpu"
) -> Any:
    """A model of ``model_class`` with random weights drawn from ``seed``, built on
    ``device`` (initialising a large model on a GPU is much faster than on a few CPU cores)."""
    import torch

    torch.manual_seed(seed)
    with torch.device(device):
        return model_class._from_config(config, dtype=getattr(torch, dtype))


def save_checkpoint(
    directory: str | Path, model: Any, processor: Any, *, bos_id: int, eos_id: int, pad_id: int
) -> Path:
    """Write ``model`` and ``processor`` to ``directory`` with a generation config that
    stops at ``eos_id`` and pads with ``pad_id``; returns the directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.bos_token_id = bos_id
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = pad_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
