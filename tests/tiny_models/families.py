"""Tiny random checkpoints of more image-text families, built offline with their real model
and processor classes (as ``qwen2_vl`` and ``llava`` do): Qwen3-VL, Gemma 3, Idefics3
(SmolVLM's layout), LLaVA-NeXT and Mistral3 (Pixtral's tower).

Each is a few hundred thousand parameters (hidden 64, 2 layers, a vision tower of depth 1-2
on small images), so loading it and generating a few tokens at batch size 4 takes about a
second on one CPU core. The chat templates are compact ones of our own with the structure
of the published ones (the image placeholder each processor expands, then the prompt).

``BUILDERS`` maps a family name to its builder, for the unit tests and
``benchmarks/device_hf_batch.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.tiny_models.checkpoint import (
    TokenizerSpec,
    build_tokenizer,
    random_model,
    save_checkpoint,
)
from tests.tiny_models.qwen2_vl import CHAT_TEMPLATE as QWEN_CHAT_TEMPLATE
from tests.tiny_models.qwen2_vl import TOKENIZER as QWEN_TOKENIZER

VOCAB_SIZE = 512
TEXT: dict[str, Any] = {
    "vocab_size": VOCAB_SIZE,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "max_position_embeddings": 4096,
}


def build_tiny_qwen3_vl(directory: str | Path, *, seed: int = 0) -> Path:
    """Qwen3-VL: 16-pixel patches merged 2 x 2 (factor 32), deepstack vision features."""
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    tokenizer, ids = build_tokenizer(QWEN_TOKENIZER, VOCAB_SIZE)
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            patch_size=16,
            merge_size=2,
            size={"shortest_edge": 64 * 32 * 32, "longest_edge": 16384 * 32 * 32},
        ),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    config = Qwen3VLConfig(
        text_config={
            **TEXT,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 3, 3],
                "mrope_interleaved": True,
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    model = random_model(Qwen3VLForConditionalGeneration, config, seed=seed)
    return save_checkpoint(
        directory,
        model,
        processor,
        bos_id=ids["<|endoftext|>"],
        eos_id=ids["<|im_end|>"],
        pad_id=ids["<|endoftext|>"],
    )


GEMMA3_TOKENIZER = TokenizerSpec(
    special_tokens=(
        "<pad>",
        "<eos>",
        "<bos>",
        "<unk>",
        "<start_of_turn>",
        "<end_of_turn>",
        "<start_of_image>",
        "<end_of_image>",
        "<image_soft_token>",
    ),
    bos="<bos>",
    eos="<eos>",
    pad="<pad>",
    unk="<unk>",
    add_bos=True,
    named=(
        ("boi_token", "<start_of_image>"),
        ("eoi_token", "<end_of_image>"),
        ("image_token", "<image_soft_token>"),
    ),
)
# Gemma 3's turns; the image as <start_of_image>, which the processor expands.
GEMMA3_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<start_of_turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<start_of_image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def build_tiny_gemma3(directory: str | Path, *, seed: int = 0) -> Path:
    """Gemma 3: a SigLIP tower on a fixed square (64 px here), pooled to 4 image tokens."""
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3ImageProcessor,
        Gemma3Processor,
    )

    tokenizer, ids = build_tokenizer(GEMMA3_TOKENIZER, VOCAB_SIZE)
    processor = Gemma3Processor(
        image_processor=Gemma3ImageProcessor(size={"height": 64, "width": 64}),
        tokenizer=tokenizer,
        chat_template=GEMMA3_CHAT_TEMPLATE,
        image_seq_length=4,
    )
    config = Gemma3Config(
        text_config={
            **TEXT,
            "sliding_window": 64,
            "layer_types": ["sliding_attention", "full_attention"],
            "bos_token_id": ids["<bos>"],
            "eos_token_id": [ids["<eos>"], ids["<end_of_turn>"]],
            "pad_token_id": ids["<pad>"],
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        mm_tokens_per_image=4,
        boi_token_index=ids["<start_of_image>"],
        eoi_token_index=ids["<end_of_image>"],
        image_token_index=ids["<image_soft_token>"],
    )
    model = random_model(Gemma3ForConditionalGeneration, config, seed=seed)
    return save_checkpoint(
        directory,
        model,
        processor,
        bos_id=ids["<bos>"],
        eos_id=ids["<end_of_turn>"],
        pad_id=ids["<pad>"],
    )


IDEFICS3_TOKENIZER = TokenizerSpec(
    special_tokens=(
        "<|endoftext|>",
        "<|im_start|>",
        "<end_of_utterance>",
        "<fake_token_around_image>",
        "<image>",
        "<global-img>",
        *(f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)),
    ),
    bos="<|im_start|>",
    eos="<end_of_utterance>",
    pad="<|endoftext|>",
)
# SmolVLM's / Idefics3's turns: "User:" and "Assistant:", each ended by <end_of_utterance>.
IDEFICS3_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}"
    "{{ message['role'] | capitalize }}:"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def build_tiny_idefics3(directory: str | Path, *, seed: int = 0) -> Path:
    """Idefics3 (the layout of SmolVLM): the page split into 64 px tiles plus a global
    view, each tile 4 image tokens after the pixel shuffle."""
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    tokenizer, ids = build_tokenizer(IDEFICS3_TOKENIZER, VOCAB_SIZE)
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(
            size={"longest_edge": 128}, max_image_size={"longest_edge": 64}
        ),
        tokenizer=tokenizer,
        image_seq_len=4,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )
    config = Idefics3Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        text_config={
            **TEXT,
            "model_type": "llama",
            "bos_token_id": ids["<|im_start|>"],
            "eos_token_id": ids["<end_of_utterance>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        scale_factor=2,
        image_token_id=ids["<image>"],
    )
    model = random_model(Idefics3ForConditionalGeneration, config, seed=seed)
    return save_checkpoint(
        directory,
        model,
        processor,
        bos_id=ids["<|im_start|>"],
        eos_id=ids["<end_of_utterance>"],
        pad_id=ids["<|endoftext|>"],
    )


# LLaVA-NeXT's anyres grid, in tiles of 32 px: (height, width) pairs.
NEXT_TILE = 32
NEXT_PINPOINTS = [[32, 64], [64, 32], [64, 64], [32, 96]]


def build_tiny_llava_next(directory: str | Path, *, seed: int = 0) -> Path:
    """LLaVA-NeXT: anyres tiling (a grid of 32 px CLIP tiles chosen by the page's shape,
    plus a base view); the published json's ``do_center_crop: true`` is kept."""
    from transformers import (
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        LlavaNextImageProcessor,
        LlavaNextProcessor,
    )

    from tests.tiny_models.llava import CHAT_TEMPLATE, TOKENIZER

    tokenizer, ids = build_tokenizer(TOKENIZER, VOCAB_SIZE)
    processor = LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(
            size={"shortest_edge": NEXT_TILE},
            crop_size={"height": NEXT_TILE, "width": NEXT_TILE},
            do_center_crop=True,
            image_grid_pinpoints=NEXT_PINPOINTS,
        ),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaNextConfig(
        vision_config={
            "model_type": "clip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": NEXT_TILE,
            "patch_size": 8,
            "projection_dim": 32,
        },
        text_config={
            **TEXT,
            "model_type": "llama",
            "bos_token_id": ids["<s>"],
            "eos_token_id": ids["</s>"],
            "pad_token_id": ids["<pad>"],
        },
        image_token_index=ids["<image>"],
        image_grid_pinpoints=NEXT_PINPOINTS,
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    model = random_model(LlavaNextForConditionalGeneration, config, seed=seed)
    return save_checkpoint(
        directory, model, processor, bos_id=ids["<s>"], eos_id=ids["</s>"], pad_id=ids["<pad>"]
    )


BUILDERS: dict[str, Callable[..., Path]] = {
    "llava_next": build_tiny_llava_next,
    "idefics3": build_tiny_idefics3,
    "gemma3": build_tiny_gemma3,
    "qwen3_vl": build_tiny_qwen3_vl,
}
