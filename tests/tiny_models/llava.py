"""A randomly initialised LLaVA-1.5-style checkpoint (CLIP vision tower, Llama decoder), built
offline, so that the Hugging Face backend is also tested on an architecture whose processor
is CLIP's (shortest side resized, then a centre square cut; the backend pads pages to a square
first) and whose tokenizer adds a BOS token.

Built with the scaffolding of ``checkpoint`` and a compact chat template of our own in the
LLaVA-1.5 format (``USER: <image>\\n... ASSISTANT:``).
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models.checkpoint import (
    TokenizerSpec,
    build_tokenizer,
    random_model,
    save_checkpoint,
)

TOKENIZER = TokenizerSpec(
    special_tokens=("<unk>", "<s>", "</s>", "<pad>", "<image>"),
    bos="<s>",
    eos="</s>",
    unk="<unk>",
    pad="<pad>",
    add_bos=True,  # Llama tokenizers put a BOS before every sequence
    model_max_length=4096,
)

# A template of our own with the structure of llava-hf's LLaVA-1.5 template: the role in
# capitals and ": " (none for a system turn), then every image part as "<image>\n", then every
# text part followed by one space; "ASSISTANT:" as the generation prompt. So an image request
# reads "USER: <image>\n<prompt> ASSISTANT:".
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}{{ message['role'] | upper }}: {% endif %}"
    "{% for part in message['content'] if part['type'] == 'image' %}<image>\n{% endfor %}"
    "{% for part in message['content'] if part['type'] == 'text' %}"
    "{{ part['text'] }} {% endfor %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

IMAGE_SIZE = 56  # the CLIP tower sees a 56x56 square: 16 patches of 14 pixels
VOCAB_SIZE = 512


def build_tiny_llava(directory: str | Path, *, seed: int = 0) -> Path:
    """A tiny random LLaVA (CLIP depth 2, Llama hidden 64 with 2 layers), float32."""
    from transformers import (
        CLIPImageProcessor,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tokenizer, ids = build_tokenizer(TOKENIZER, VOCAB_SIZE)
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
    model = random_model(LlavaForConditionalGeneration, config, seed=seed)
    return save_checkpoint(
        directory, model, processor, bos_id=ids["<s>"], eos_id=ids["</s>"], pad_id=ids["<pad>"]
    )
