"""Tiny random checkpoints of more image-text families, built offline with their real model
and processor classes (as ``qwen2_vl`` and ``llava`` do): Qwen3-VL, Gemma 3, Idefics3,
SmolVLM2, LLaVA-NeXT, Mistral3 (Pixtral's tower), Mllama and InternVL ``-hf``.

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


def token_roles(ids: dict[str, int], spec: TokenizerSpec) -> dict[str, int]:
    """A text config's special token ids (BOS is the padding token where there is none)."""
    return {
        "bos_token_id": ids[spec.bos or spec.pad],
        "eos_token_id": ids[spec.eos],
        "pad_token_id": ids[spec.pad],
    }


def finish(
    directory: str | Path,
    model_class: Any,
    config: Any,
    processor: Any,
    ids: dict[str, int],
    spec: TokenizerSpec,
    *,
    seed: int,
    eos: str | None = None,
) -> Path:
    """A seeded random ``model_class`` of ``config``, saved with ``processor`` and a
    generation config that stops at ``eos`` (the tokenizer's EOS by default)."""
    model = random_model(model_class, config, seed=seed)
    roles = token_roles(ids, spec)
    return save_checkpoint(
        directory,
        model,
        processor,
        bos_id=roles["bos_token_id"],
        eos_id=ids[eos] if eos else roles["eos_token_id"],
        pad_id=roles["pad_token_id"],
    )


def build_tiny_qwen3_vl(directory: str | Path, *, seed: int = 0) -> Path:
    """Qwen3-VL: 16-pixel patches merged 2 x 2 (factor 32), deepstack vision features."""
    from transformers import (
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
    )

    tokenizer, ids = build_tokenizer(QWEN_TOKENIZER, VOCAB_SIZE)
    processor = qwen3_vl_processor(tokenizer, 64 * 32 * 32, 16384 * 32 * 32)
    config = Qwen3VLConfig(
        text_config={
            **TEXT,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 3, 3],
                "mrope_interleaved": True,
            },
            **token_roles(ids, QWEN_TOKENIZER),
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
    return finish(
        directory,
        Qwen3VLForConditionalGeneration,
        config,
        processor,
        ids,
        QWEN_TOKENIZER,
        seed=seed,
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
    )

    tokenizer, ids = build_tokenizer(GEMMA3_TOKENIZER, VOCAB_SIZE)
    processor = gemma3_processor(tokenizer, side=64, tokens=4)
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
    return finish(
        directory,
        Gemma3ForConditionalGeneration,
        config,
        processor,
        ids,
        GEMMA3_TOKENIZER,
        seed=seed,
        eos="<end_of_turn>",
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


SMOLVLM_TOKENIZER = TokenizerSpec(
    special_tokens=(*IDEFICS3_TOKENIZER.special_tokens, "<|im_end|>", "<video>"),
    bos="<|im_start|>",
    eos="<end_of_utterance>",
    pad="<|im_end|>",
    # The names SmolVLM2's tokenizer config gives its image tokens, which its processor reads.
    named=(
        ("fake_image_token", "<fake_token_around_image>"),
        ("image_token", "<image>"),
        ("global_image_token", "<global-img>"),
        ("end_of_utterance_token", "<end_of_utterance>"),
    ),
)


def build_tiny_idefics3(directory: str | Path, *, seed: int = 0) -> Path:
    """Idefics3 (the layout of SmolVLM v1): see ``build_tiled``."""
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    return build_tiled(
        directory,
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        IDEFICS3_TOKENIZER,
        idefics3_processor,
        seed=seed,
    )


def build_tiny_smolvlm(directory: str | Path, *, seed: int = 0) -> Path:
    """SmolVLM2: Idefics3's tiling (see ``build_tiled``) with SmolVLM's own model, processor
    and video processor classes; its processor needs the ``num2words`` package."""
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration

    return build_tiled(
        directory,
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SMOLVLM_TOKENIZER,
        smolvlm_processor,
        seed=seed,
    )


def build_tiled(
    directory: str | Path,
    config_class: Any,
    model_class: Any,
    spec: TokenizerSpec,
    make_processor: Callable[..., Any],
    *,
    seed: int,
) -> Path:
    """Idefics3's layout, shared by SmolVLM2: a Llama text model and a SigLIP tower on 64 px
    tiles; the page split into tiles plus a global view, each tile 4 image tokens after the
    pixel shuffle."""
    tokenizer, ids = build_tokenizer(spec, VOCAB_SIZE)
    processor = make_processor(tokenizer, tile=64, tiles=2, tokens=4)
    config = config_class(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        text_config={**TEXT, "model_type": "llama", **token_roles(ids, spec)},
        scale_factor=2,
        image_token_id=ids["<image>"],
    )
    return finish(directory, model_class, config, processor, ids, spec, seed=seed)


# LLaVA-NeXT's anyres grid, in tiles of 32 px: (height, width) pairs.
NEXT_TILE = 32
NEXT_PINPOINTS = [[32, 64], [64, 32], [64, 64], [32, 96]]


def build_tiny_llava_next(directory: str | Path, *, seed: int = 0) -> Path:
    """LLaVA-NeXT: anyres tiling (a grid of 32 px CLIP tiles chosen by the page's shape,
    plus a base view); the published json's ``do_center_crop: true`` is kept."""
    from transformers import (
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
    )

    from tests.tiny_models.llava import TOKENIZER

    tokenizer, ids = build_tokenizer(TOKENIZER, VOCAB_SIZE)
    processor = llava_next_processor(tokenizer, NEXT_TILE, NEXT_PINPOINTS, patch=8)
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
            **token_roles(ids, TOKENIZER),
        },
        image_token_index=ids["<image>"],
        image_grid_pinpoints=NEXT_PINPOINTS,
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    return finish(
        directory, LlavaNextForConditionalGeneration, config, processor, ids, TOKENIZER, seed=seed
    )


MISTRAL3_TOKENIZER = TokenizerSpec(
    special_tokens=(
        "<unk>",
        "<s>",
        "</s>",
        "[INST]",
        "[/INST]",
        "[IMG]",
        "[IMG_BREAK]",
        "[IMG_END]",
        "<pad>",
    ),
    bos="<s>",
    eos="</s>",
    pad="<pad>",
    unk="<unk>",
    add_bos=True,
)
# Mistral's [INST] turns, the image as [IMG] (the processor expands it into rows of image
# tokens, each ended by [IMG_BREAK], the last by [IMG_END]).
MISTRAL3_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}[INST]"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}[IMG]"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}[/INST]{% endif %}{% endfor %}"
)


def build_tiny_mistral3(directory: str | Path, *, seed: int = 0) -> Path:
    """Mistral3 (Mistral Small 3.1's layout): a Pixtral tower that reads the page at its
    own aspect ratio (longest side 64 px here) in 8 px patches merged 2 x 2."""
    from transformers import (
        Mistral3Config,
        Mistral3ForConditionalGeneration,
    )

    tokenizer, ids = build_tokenizer(MISTRAL3_TOKENIZER, VOCAB_SIZE)
    processor = pixtral_processor(tokenizer, longest=64, patch=8)
    config = Mistral3Config(
        vision_config={
            "model_type": "pixtral",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "head_dim": 16,
            "image_size": 64,
            "patch_size": 8,
        },
        text_config={
            **TEXT,
            "model_type": "mistral",
            **token_roles(ids, MISTRAL3_TOKENIZER),
        },
        image_token_index=ids["[IMG]"],
        spatial_merge_size=2,
        vision_feature_layer=-1,
    )
    return finish(
        directory,
        Mistral3ForConditionalGeneration,
        config,
        processor,
        ids,
        MISTRAL3_TOKENIZER,
        seed=seed,
    )


MLLAMA_TOKENIZER = TokenizerSpec(
    special_tokens=(
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
        "<|image|>",
        "<|python_tag|>",
        "<|finetune_right_pad_id|>",
    ),
    bos="<|begin_of_text|>",
    eos="<|eot_id|>",
    pad="<|finetune_right_pad_id|>",
)
# Llama 3's header turns; the image as <|image|>, which cross-attention layers read.
MLLAMA_CHAT_TEMPLATE = (
    "<|begin_of_text|>{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|image|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def build_tiny_mllama(directory: str | Path, *, seed: int = 0) -> Path:
    """Mllama (Llama 3.2 Vision's layout): the page in up to 4 tiles of 32 px chosen by its
    aspect ratio, read by cross-attention layers."""
    from transformers import (
        MllamaConfig,
        MllamaForConditionalGeneration,
    )

    tokenizer, ids = build_tokenizer(MLLAMA_TOKENIZER, VOCAB_SIZE)
    processor = mllama_processor(tokenizer, tile=32)
    config = MllamaConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_global_layers": 1,
            "attention_heads": 2,
            "intermediate_layers_indices": [0],
            "vision_output_dim": 64,
            "image_size": 32,
            "patch_size": 8,
            "max_num_tiles": 4,
        },
        text_config={
            **{k: v for k, v in TEXT.items() if k != "head_dim"},
            "cross_attention_layers": [1],
            **token_roles(ids, MLLAMA_TOKENIZER),
        },
        image_token_index=ids["<|image|>"],
    )
    return finish(
        directory,
        MllamaForConditionalGeneration,
        config,
        processor,
        ids,
        MLLAMA_TOKENIZER,
        seed=seed,
    )


INTERNVL_TOKENIZER = TokenizerSpec(
    special_tokens=(
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<img>",
        "</img>",
        "<IMG_CONTEXT>",
        "<video>",
    ),
    eos="<|im_end|>",
    pad="<|endoftext|>",
    named=(
        ("start_image_token", "<img>"),
        ("end_image_token", "</img>"),
        ("context_image_token", "<IMG_CONTEXT>"),
        ("video_token", "<video>"),
    ),
)
# InternVL's ChatML turns; the image as <image>, which the processor expands into
# <img><IMG_CONTEXT>...</img> per tile.
INTERNVL_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_internvl(directory: str | Path, *, seed: int = 0) -> Path:
    """InternVL in transformers' own layout (the ``-hf`` checkpoints): the page cut into
    up to 4 tiles of 32 px by its aspect ratio plus a thumbnail, 4 tokens per tile."""
    from transformers import (
        InternVLConfig,
        InternVLForConditionalGeneration,
    )

    tokenizer, ids = build_tokenizer(INTERNVL_TOKENIZER, VOCAB_SIZE)
    processor = internvl_processor(tokenizer, tile=32, max_tiles=4, tokens=4)
    config = InternVLConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": [32, 32],
            "patch_size": [8, 8],
        },
        text_config={
            **TEXT,
            "model_type": "qwen2",
            **token_roles(ids, INTERNVL_TOKENIZER),
        },
        image_token_id=ids["<IMG_CONTEXT>"],
        downsample_ratio=0.5,
        vision_feature_layer=-1,
    )
    return finish(
        directory,
        InternVLForConditionalGeneration,
        config,
        processor,
        ids,
        INTERNVL_TOKENIZER,
        seed=seed,
    )


# -- processors: each family's, with the image sizes given (tiny here, the published ones in
# benchmarks/family_page_tokens.py) --------------------------------------------------------


def qwen3_vl_processor(tokenizer: Any, min_pixels: int, max_pixels: int) -> Any:
    """Qwen3-VL's: Qwen2-VL's image processor with 16-pixel patches merged 2 x 2."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16, merge_size=2, size=size),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(),
        chat_template=QWEN_CHAT_TEMPLATE,
    )


def gemma3_processor(tokenizer: Any, *, side: int, tokens: int) -> Any:
    """Gemma 3's: every image resized to a ``side`` square, ``tokens`` image tokens."""
    from transformers import Gemma3ImageProcessor, Gemma3Processor

    return Gemma3Processor(
        image_processor=Gemma3ImageProcessor(size={"height": side, "width": side}),
        tokenizer=tokenizer,
        chat_template=GEMMA3_CHAT_TEMPLATE,
        image_seq_length=tokens,
    )


def idefics3_processor(tokenizer: Any, *, tile: int, tiles: int, tokens: int) -> Any:
    """Idefics3's: the longest side resized to ``tiles`` tiles of ``tile`` px, split into
    tiles plus a global view, ``tokens`` image tokens each."""
    from transformers import Idefics3ImageProcessor, Idefics3Processor

    return Idefics3Processor(
        image_processor=Idefics3ImageProcessor(
            size={"longest_edge": tiles * tile}, max_image_size={"longest_edge": tile}
        ),
        tokenizer=tokenizer,
        image_seq_len=tokens,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )


def smolvlm_processor(tokenizer: Any, *, tile: int, tiles: int, tokens: int) -> Any:
    """SmolVLM2's: Idefics3's tiling (see ``idefics3_processor``) with the published chat
    template, which transformers keeps as SmolVLM's default."""
    from transformers import SmolVLMImageProcessor, SmolVLMProcessor, SmolVLMVideoProcessor
    from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

    return SmolVLMProcessor(
        image_processor=SmolVLMImageProcessor(
            size={"longest_edge": tiles * tile}, max_image_size={"longest_edge": tile}
        ),
        tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(),
        image_seq_len=tokens,
        chat_template=DEFAULT_CHAT_TEMPLATE,
    )


def llava_next_processor(
    tokenizer: Any, tile: int, pinpoints: list[list[int]], *, patch: int
) -> Any:
    """LLaVA-NeXT's: anyres tiles of ``tile`` px on the grid ``pinpoints``, centre crop on
    as in the published json."""
    from transformers import LlavaNextImageProcessor, LlavaNextProcessor

    from tests.tiny_models.llava import CHAT_TEMPLATE

    return LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(
            size={"shortest_edge": tile},
            crop_size={"height": tile, "width": tile},
            do_center_crop=True,
            image_grid_pinpoints=pinpoints,
        ),
        tokenizer=tokenizer,
        patch_size=patch,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )


def pixtral_processor(tokenizer: Any, *, longest: int, patch: int) -> Any:
    """Pixtral's (Mistral3's): the page at its own aspect ratio, longest side at most
    ``longest``, patches of ``patch`` px merged 2 x 2."""
    from transformers import PixtralImageProcessor, PixtralProcessor

    return PixtralProcessor(
        image_processor=PixtralImageProcessor(size={"longest_edge": longest}, patch_size=patch),
        tokenizer=tokenizer,
        patch_size=patch,
        spatial_merge_size=2,
        chat_template=MISTRAL3_CHAT_TEMPLATE,
    )


def mllama_processor(tokenizer: Any, *, tile: int) -> Any:
    """Mllama's: up to 4 tiles of ``tile`` px chosen by the aspect ratio."""
    from transformers import MllamaImageProcessor, MllamaProcessor

    return MllamaProcessor(
        image_processor=MllamaImageProcessor(
            size={"height": tile, "width": tile}, max_image_tiles=4
        ),
        tokenizer=tokenizer,
        chat_template=MLLAMA_CHAT_TEMPLATE,
    )


def internvl_processor(tokenizer: Any, *, tile: int, max_tiles: int, tokens: int) -> Any:
    """InternVL's (-hf): up to ``max_tiles`` tiles of ``tile`` px plus a thumbnail."""
    from transformers import GotOcr2ImageProcessor, InternVLProcessor, InternVLVideoProcessor

    return InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(
            size={"height": tile, "width": tile}, crop_to_patches=True, max_patches=max_tiles
        ),
        tokenizer=tokenizer,
        video_processor=InternVLVideoProcessor(),
        image_seq_length=tokens,
        chat_template=INTERNVL_CHAT_TEMPLATE,
    )


BUILDERS: dict[str, Callable[..., Path]] = {
    "internvl": build_tiny_internvl,
    "mllama": build_tiny_mllama,
    "mistral3": build_tiny_mistral3,
    "llava_next": build_tiny_llava_next,
    "idefics3": build_tiny_idefics3,
    "smolvlm": build_tiny_smolvlm,
    "gemma3": build_tiny_gemma3,
    "qwen3_vl": build_tiny_qwen3_vl,
}
