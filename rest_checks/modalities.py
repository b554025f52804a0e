"""The names of the modalities a case is asked in. Imports nothing, so every layer
(metrics included) can use them without pulling in rendering or Pillow."""

from __future__ import annotations

from typing import Literal

Modality = Literal["text", "image", "mixed", "ocr"]
# The three modalities whose final answers must agree.
ANSWER_MODALITIES: tuple[Modality, ...] = ("text", "image", "mixed")
# Every request of a case: the answers, plus the OCR control's transcription.
ALL_MODALITIES: tuple[Modality, ...] = ("text", "image", "mixed", "ocr")
# The marker that opens a model's final answer line; read back by ``rest_checks.answers``.
FINAL_ANSWER_PREFIX = "ANSWER:"
