"""The local backend's equivalent of ``finish_reason: length``: a tiny, randomly initialised
Qwen2-VL that runs into its answer budget gives truncated replies, and ``--rest-max-tokens``
is the budget it decodes to."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rest_checks.models.hf import HFModel
from rest_checks.run import RestRun
from rest_checks.verdicts import failure_message
from tests.tiny_models.qwen2_vl import build_tiny_qwen2_vl
from tests.unit.test_run import settings

BUDGET = 3


def test_a_local_model_cut_at_its_budget_gives_truncated_replies(tmp_path: Path) -> None:
    directory = build_tiny_qwen2_vl(tmp_path / "tiny-qwen2-vl")
    model = HFModel(
        str(directory),
        spec="hf:tiny",
        device="cpu",
        dtype="float32",
        settings={"min_pixels": 4 * 28 * 28, "max_pixels": 64 * 28 * 28},
    )
    run = RestRun(
        settings(tmp_path, rest_suite=("arith",), rest_n=1, rest_max_tokens=BUDGET), model
    )
    (item,) = run.items()
    record = run.cross_modal(item, "default")
    # Random weights rarely stop within 3 tokens; whatever stopped was read, the rest cut.
    cut = [m for m in ("text", "image", "mixed") if record.extra[m]["finish_reason"] == "length"]
    assert cut, record.extra
    for modality in ("text", "image", "mixed"):
        assert record.extra[modality]["new_tokens"] <= BUDGET
        assert (record.rules[modality] == "truncated") == (modality in cut)
    assert f"(truncated: cut at {BUDGET} tokens)" in failure_message(record, None, [])
