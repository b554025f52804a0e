"""Tiny checkpoints of more families (tests/tiny_models/families.py) run through the suite
at batch size 4 with every case answered, each page reaching its processor as the family's
original preprocessing has it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image

from rest_checks.config import RestSettings
from rest_checks.models import hf_images
from rest_checks.models.hf import HFModel
from rest_checks.models.pixels import QWEN3_MAX_PIXELS, QWEN3_MIN_PIXELS
from rest_checks.prompts import build_requests
from rest_checks.render.specs import RenderSpec
from rest_checks.run import RestRun
from tests.tiny_models.families import BUILDERS


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build(root / name) for name, build in BUILDERS.items()}


def hf(path: Path, batch_size: int = 4) -> HFModel:
    settings = {"max_new_tokens": 2}
    return HFModel(
        str(path), spec=f"hf:{path.name}", device="cpu", batch_size=batch_size, settings=settings
    )


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_the_suite_runs_at_batch_size_4_with_every_case_answered(
    family: str, built: dict[str, Path], tmp_path: Path
) -> None:
    model = hf(built[family])
    values = {"rest_model": f"hf:{family}", "rest_suite": ("arith", "soebench"), "rest_n": 2}
    run = RestRun(RestSettings.from_values({**values, "rest_no_cache": True}, tmp_path), model)
    cases = [(item, "default") for item in run.items()]
    run.plan(cases)
    run.prefetch()
    records = [run.cross_modal(item) for item, _ in cases]
    assert [r.error for r in records] == [None] * 4
    for record in records:
        visual = record.n_visual_tokens
        assert visual["text"] is None and visual["image"] > 0 and visual["mixed"] > 0
    model.close()


@pytest.mark.parametrize("family", ["gemma3", "smolvlm"])
def test_gemma3_and_smolvlm_need_one_image_list_per_row(
    family: str, built: dict[str, Path]
) -> None:
    """What a flat list does to a batch of Gemma 3 or SmolVLM2 prompts: one sample with
    every image."""
    model = hf(built[family])
    model.load()
    page = Image.new("RGB", (64, 32), "white")
    texts = [model.chat_text("What is 1 + 1?", with_image=True)] * 2
    with pytest.raises(ValueError, match="images"):
        model._processor(text=texts, images=[page, page], padding=True, return_tensors="pt")
    nested = model._processor(
        text=texts, images=[[page], [page]], padding=True, return_tensors="pt"
    )
    assert nested["input_ids"].shape[0] == 2


def test_qwen3_vl_reads_the_page_within_its_pinned_budget_at_factor_32(
    built: dict[str, Path],
) -> None:
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    from rest_checks.items.soebench import generate_soebench

    model = hf(built["qwen3_vl"])
    assert (model.identity()["min_pixels"], model.identity()["max_pixels"]) == (
        QWEN3_MIN_PIXELS,
        QWEN3_MAX_PIXELS,
    )
    request = build_requests(generate_soebench(1, seed=2)[0], RenderSpec(dpi=50))["image"]
    (reply,) = model.generate([request])
    size = model._processor.image_processor.size
    assert (size.shortest_edge, size.longest_edge) == (QWEN3_MIN_PIXELS, QWEN3_MAX_PIXELS)
    assert request.image_png is not None
    width, height = Image.open(io.BytesIO(request.image_png)).size
    h, w = smart_resize(height, width, 32, QWEN3_MIN_PIXELS, QWEN3_MAX_PIXELS)
    assert reply.n_visual_tokens == (h // 32) * (w // 32) >= 256


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_anyres_and_resizing_families_get_the_page_as_it_is(
    family: str, built: dict[str, Path]
) -> None:
    from rest_checks.items.soebench import generate_soebench

    model = hf(built[family])
    model.load()
    assert model.identity()["image_fit"] == hf_images.FIT_PROCESSOR
    request = build_requests(generate_soebench(1, seed=2)[0], RenderSpec(dpi=50))["image"]
    assert request.image_png is not None
    page = Image.open(io.BytesIO(request.image_png))
    assert model._prepare(0, request).image.size == page.size  # not padded to a square


def test_pytest_runs_gemma3_at_batch_size_4_to_the_results_json(
    built: dict[str, Path], pytester: pytest.Pytester
) -> None:
    """The whole plugin path on the family whose batches failed with a flat image list."""
    import json

    from tests.unit.suite_runs import make_suite, run_suite

    make_suite(pytester)
    (pytester.path / "rest_models.toml").write_text(
        f'[models.gemma]\nbackend = "hf"\nname = "{built["gemma3"]}"\nmax_new_tokens = 2\n',
        encoding="utf-8",
    )
    result = run_suite(
        pytester, "--model", "gemma", "--rest-suite", "arith", "--rest-n", "3",
        "--rest-batch-size", "4", "--rest-device", "cpu", "--rest-json", "out.json",
    )  # fmt: skip
    data = json.loads((pytester.path / "out.json").read_text())
    assert data["errors"] == [] and len(data["items"]) == 3, result.stdout.str()
    assert all(item["n_visual_tokens"]["image"] == 4 for item in data["items"])
    assert data["model_identity"]["batch_size"] == 4


def test_smolvlm_without_num2words_stops_once_with_the_install_line(
    built: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SmolVLM's processor refuses to be built without num2words (transformers leaves its
    module's ``num2words`` at None when the package is missing): one line, the fix last."""
    from transformers.models.smolvlm import processing_smolvlm

    from rest_checks.models.base import ModelLoadError

    monkeypatch.setattr(processing_smolvlm, "num2words", None)
    model = hf(built["smolvlm"])
    with pytest.raises(ModelLoadError) as caught:
        model.load()
    message = str(caught.value)
    assert "\n" not in message
    assert "cannot load the processor" in message and "'num2words'" in message
    assert message.endswith("Fix: pip install num2words")
    with pytest.raises(ModelLoadError) as again:  # said once: no second load
        model.load()
    assert again.value is caught.value
