"""Randomly initialised Qwen2-VL checkpoints of the real architecture, built offline.

The Hugging Face backend is tested through the real ``from_pretrained`` and ``generate``
code paths without a model hub: these builders write a complete checkpoint directory
(weights, config, generation config, tokenizer, image and video processors, chat template)
that ``AutoProcessor`` and ``AutoModelForImageTextToText`` load back.

The tokenizer is a byte-level BPE trained on the spot on the project's own prompt text,
equations and digits, with the special tokens Qwen2-VL needs. Its vocabulary is padded with
filler entries (reachable by no merge, so tokenisation is unchanged) up to the model's
vocabulary size, so that every id a random model emits decodes to some distinct text.

``build_tiny_qwen2_vl`` takes a couple of seconds on one CPU core; ``build_qwen2_vl_2b_sized``
has the sizes of Qwen2-VL-2B (about 2.2 B parameters) and is meant for a GPU machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rest_checks import prompts
from rest_checks.items.base import ANSWER_TYPES, Item

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Qwen2-VL's own pixel budget for the image processor (the HF backend pins its own values).
DEFAULT_MIN_PIXELS = 56 * 56
DEFAULT_MAX_PIXELS = 1280 * 28 * 28

# A compact template of our own that emits the Qwen2-VL chat format: a default system
# turn, images as <|vision_start|><|image_pad|><|vision_end|> (the processor expands the pad
# token to one token per merged patch), and the assistant header as the generation prompt.
# No whitespace control: the template has no incidental whitespace, only the format's newlines.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'video' or 'video' in part %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in part %}{{ part['text'] }}"
    "{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TINY_TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-6,
    # head_dim 16: the three M-RoPE sections (time, height, width) cover its 8 frequencies.
    "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
}
TINY_VISION_CONFIG: dict[str, Any] = {
    "depth": 2,
    "embed_dim": 32,
    "hidden_size": 64,
    "num_heads": 2,
    "mlp_ratio": 2,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}
TINY_VOCAB_SIZE = 512

# The sizes of Qwen/Qwen2-VL-2B-Instruct's config.json.
QWEN2_VL_2B_TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
}
QWEN2_VL_2B_VISION_CONFIG: dict[str, Any] = {
    "depth": 32,
    "embed_dim": 1280,
    "hidden_size": 1536,
    "num_heads": 16,
    "mlp_ratio": 4,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}
QWEN2_VL_2B_VOCAB_SIZE = 151936


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


def train_tokenizer(vocab_size: int, special_tokens: Sequence[str] = SPECIAL_TOKENS) -> Any:
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


def _token_id(tokenizer: Any, token: str) -> int:
    value = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(value, int):
        raise ValueError(f"token {token!r} has no single id in the tokenizer")
    return value


def build_qwen2_vl(
    directory: str | Path,
    *,
    text_config: dict[str, Any],
    vision_config: dict[str, Any],
    vocab_size: int,
    dtype: str = "float32",
    device: str = "cpu",
    seed: int = 0,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    tie_word_embeddings: bool = False,
) -> Path:
    """Write a random Qwen2-VL checkpoint with the given sizes to ``directory``."""
    import torch
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(vocab_size),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
    )
    ids = {token: _token_id(tokenizer, token) for token in SPECIAL_TOKENS}
    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=CHAT_TEMPLATE,
    )

    config = Qwen2VLConfig(
        text_config={
            **text_config,
            "vocab_size": vocab_size,
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config=dict(vision_config),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=tie_word_embeddings,
    )
    torch_dtype = getattr(torch, dtype)
    torch.manual_seed(seed)
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration._from_config(config, dtype=torch_dtype)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)
    processor.save_pretrained(out)
    del model
    return out


def build_tiny_qwen2_vl(
    directory: str | Path,
    *,
    seed: int = 0,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Path:
    """A tiny random Qwen2-VL (hidden 64, 2 layers, vision depth 2), float32, in ``directory``.

    About 0.2 M parameters; loads and generates in well under a second on one CPU core.
    """
    return build_qwen2_vl(
        directory,
        text_config=TINY_TEXT_CONFIG,
        vision_config=TINY_VISION_CONFIG,
        vocab_size=TINY_VOCAB_SIZE,
        seed=seed,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
    )


def build_qwen2_vl_2b_sized(directory: str | Path, *, seed: int = 0, device: str = "cpu") -> Path:
    """A random bfloat16 Qwen2-VL with the sizes of Qwen2-VL-2B, for timing on a GPU.

    About 2.2 B parameters (4.4 GB on disk). ``device="cuda"`` initialises the weights on
    the GPU, which is much faster than on a few CPU cores.
    """
    return build_qwen2_vl(
        directory,
        text_config=QWEN2_VL_2B_TEXT_CONFIG,
        vision_config=QWEN2_VL_2B_VISION_CONFIG,
        vocab_size=QWEN2_VL_2B_VOCAB_SIZE,
        dtype="bfloat16",
        device=device,
        seed=seed,
        tie_word_embeddings=True,
    )
