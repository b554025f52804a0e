"""Randomly initialised Qwen2-VL and Qwen2.5-VL checkpoints of the real architectures, built
offline.

The builders write a complete checkpoint directory (weights, config, generation config,
tokenizer, image and video processors, chat template) with the scaffolding of
``checkpoint``: a tokenizer trained on the spot with the special tokens Qwen2-VL needs.

``build_tiny_qwen2_vl`` takes a couple of seconds on one CPU core; ``build_qwen2_vl_2b_sized``
has the sizes of Qwen2-VL-2B (about 2.2 B parameters) and is meant for a GPU machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tiny_models.checkpoint import (
    TokenizerSpec,
    build_tokenizer,
    random_model,
    save_checkpoint,
)

TOKENIZER = TokenizerSpec(
    special_tokens=(
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|vision_start|>",
        "<|vision_end|>",
        "<|image_pad|>",
        "<|video_pad|>",
    ),
    eos="<|im_end|>",
    pad="<|endoftext|>",
    model_max_length=32768,
)

# Qwen2-VL's own pixel budget for the image processor (the HF backend pins its own values).
DEFAULT_MIN_PIXELS = 56 * 56
DEFAULT_MAX_PIXELS = 1280 * 28 * 28

# A template of our own with the structure of the published Qwen2-VL / Qwen2.5-VL chat
# templates: a default system turn unless the first message is one, string or list content,
# images as <|vision_start|><|image_pad|><|vision_end|> (the processor expands the pad token
# to one token per merged patch), optionally numbered ("Picture 1: ") with add_vision_id,
# image_url parts counted as images, and the assistant header as the generation prompt.
CHAT_TEMPLATE = (
    "{% set pictures = namespace(n=0) %}{% set videos = namespace(n=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part or 'image_url' in part %}"
    "{% set pictures.n = pictures.n + 1 %}"
    "{% if add_vision_id %}Picture {{ pictures.n }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'video' or 'video' in part %}"
    "{% set videos.n = videos.n + 1 %}"
    "{% if add_vision_id %}Video {{ videos.n }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in part %}{{ part['text'] }}"
    "{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
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
# Qwen2.5-VL's vision tower: windowed attention, full attention in the listed blocks, and
# a merger that projects to the text model's width (``out_hidden_size``).
TINY_QWEN2_5_VISION_CONFIG: dict[str, Any] = {
    "depth": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "out_hidden_size": 64,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [1],
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
    family: str = "qwen2_vl",
) -> Path:
    """Write a random Qwen2-VL (``family="qwen2_vl"``) or Qwen2.5-VL (``"qwen2_5_vl"``)
    checkpoint with the given sizes to ``directory``."""
    import transformers
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    prefix = {"qwen2_vl": "Qwen2VL", "qwen2_5_vl": "Qwen2_5_VL"}[family]
    config_class = getattr(transformers, f"{prefix}Config")
    model_class = getattr(transformers, f"{prefix}ForConditionalGeneration")
    processor_class = getattr(transformers, f"{prefix}Processor")
    tokenizer, ids = build_tokenizer(TOKENIZER, vocab_size)
    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    processor = processor_class(
        image_processor=Qwen2VLImageProcessor(size=size),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=CHAT_TEMPLATE,
    )
    config = config_class(
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
    model = random_model(model_class, config, seed=seed, dtype=dtype, device=device)
    return save_checkpoint(
        directory,
        model,
        processor,
        bos_id=ids["<|endoftext|>"],
        eos_id=ids["<|im_end|>"],
        pad_id=ids["<|endoftext|>"],
    )


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


def build_tiny_qwen2_5_vl(directory: str | Path, *, seed: int = 0) -> Path:
    """A tiny random Qwen2.5-VL (the text model of ``build_tiny_qwen2_vl``, a windowed
    vision tower of depth 2), float32, in ``directory``."""
    return build_qwen2_vl(
        directory,
        text_config=TINY_TEXT_CONFIG,
        vision_config=TINY_QWEN2_5_VISION_CONFIG,
        vocab_size=TINY_VOCAB_SIZE,
        seed=seed,
        family="qwen2_5_vl",
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
