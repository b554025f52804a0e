"""A randomly initialised LLaVA-1.5-style checkpoint (CLIP vision tower, Llama decoder), built
offline, so that the Hugging Face backend is also tested on an architecture whose processor
crops images to a fixed square and whose tokenizer adds a BOS token.

Like ``tiny_qwen2_vl``: a byte-level BPE tokenizer trained on the spot on our own text, a
compact chat template of our own in the LLaVA-1.5 format (``USER: <image>\\n... ASSISTANT:``),
everything saved with ``save_pretrained`` so that the auto classes load it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rest_checks.testing.tiny_qwen2_vl import train_tokenizer

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>", "<image>")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part %}<image>\n"
    "{% elif 'text' in part %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %} {% else %}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

IMAGE_SIZE = 56  # the CLIP tower sees a 56x56 crop: 16 patches of 14 pixels
VOCAB_SIZE = 512


def build_tiny_llava(directory: str | Path, *, seed: int = 0) -> Path:
    """A tiny random LLaVA (CLIP depth 2, Llama hidden 64 with 2 layers), float32."""
    import torch
    from tokenizers import processors
    from transformers import (
        CLIPImageProcessor,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    backend = train_tokenizer(VOCAB_SIZE, SPECIAL_TOKENS)
    bos = backend.token_to_id("<s>")
    # Llama tokenizers put a BOS before every sequence.
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=4096,
    )
    ids: dict[str, Any] = {t: backend.token_to_id(t) for t in SPECIAL_TOKENS}
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": IMAGE_SIZE},
            crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        ),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's class token, dropped by "default"
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config={
            "model_type": "clip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": IMAGE_SIZE,
            "patch_size": 14,
            "projection_dim": 32,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": VOCAB_SIZE,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "bos_token_id": ids["<s>"],
            "eos_token_id": ids["</s>"],
            "pad_token_id": ids["<pad>"],
        },
        image_token_index=ids["<image>"],
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.bos_token_id = ids["<s>"]
    model.generation_config.eos_token_id = ids["</s>"]
    model.generation_config.pad_token_id = ids["<pad>"]
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
