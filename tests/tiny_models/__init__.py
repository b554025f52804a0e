"""Randomly initialised checkpoints of real vision-language architectures, built offline,
so that the Hugging Face backend is tested through the real ``from_pretrained`` and
``generate`` code paths without a model hub.

``checkpoint`` holds what every builder shares (the tokenizer trained on the spot, the
seeded model, saving); ``qwen2_vl`` and ``llava`` hold one architecture each.
"""
