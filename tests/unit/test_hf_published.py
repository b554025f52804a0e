"""The transformers backend on tiny checkpoints saved in the published file layouts of
Qwen2-VL, Qwen2.5-VL and llava-hf's LLaVA-1.5 (tests/tiny_models/published.py): they load
under the aliases, keep the whole page, decode greedily whatever the checkpoint's generation
config says, batch without changing a score, and spread over devices with device_map."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from rest_checks.items.base import Item  # noqa: E402
from rest_checks.items.soebench import generate_soebench  # noqa: E402
from rest_checks.models import hf_images  # noqa: E402
from rest_checks.models.hf import HFModel  # noqa: E402
from rest_checks.models.pixels import QWEN_MAX_PIXELS, QWEN_MIN_PIXELS  # noqa: E402
from rest_checks.models.registry import ModelOptions, load, resolve  # noqa: E402
from rest_checks.prompts import Request, build_requests  # noqa: E402
from rest_checks.render.specs import RenderSpec  # noqa: E402
from tests.tiny_models import published  # noqa: E402
from tests.tiny_models.llava import build_tiny_llava  # noqa: E402
from tests.tiny_models.qwen2_vl import build_tiny_qwen2_5_vl, build_tiny_qwen2_vl  # noqa: E402

NEW_TOKENS = 4
QWEN_FAMILIES = ("qwen2_vl", "qwen2_5_vl")
ALIASES = {"qwen2_vl": "qwen2-vl", "qwen2_5_vl": "qwen2.5-vl", "llava": "llava-1.5"}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three tiny checkpoints in the published layouts."""
    root = tmp_path_factory.mktemp("published")
    return {
        "qwen2_vl": published.publish_qwen(build_tiny_qwen2_vl(root / "qwen2-vl")),
        "qwen2_5_vl": published.publish_qwen(
            build_tiny_qwen2_5_vl(root / "qwen2.5-vl"), family="qwen2_5_vl"
        ),
        "llava": published.publish_llava(build_tiny_llava(root / "llava-1.5")),
    }


@pytest.fixture(scope="module")
def item() -> Item:
    return generate_soebench(1, seed=3)[0]


def hf(path: Path, **kwargs: Any) -> HFModel:
    settings = {"max_new_tokens": NEW_TOKENS, **kwargs.pop("settings", {})}
    return HFModel(str(path), spec=f"hf:{path.name}", settings=settings, **kwargs)


def requests_of(item: Item, dpi: int = 50) -> list[Request]:
    return list(build_requests(item, RenderSpec(dpi=dpi), with_ocr=False).values())


# -- the layouts are the published ones -------------------------------------------------


def test_fixtures_have_the_published_files(checkpoints: dict[str, Path]) -> None:
    for family in QWEN_FAMILIES:
        files = {p.name for p in checkpoints[family].iterdir()}
        assert {"preprocessor_config.json", "chat_template.json", "vocab.json"} <= files
        assert "processor_config.json" not in files and "model.safetensors" not in files
        pre = json.loads((checkpoints[family] / "preprocessor_config.json").read_text())
        assert (pre["min_pixels"], pre["max_pixels"]) == (3136, 12845056) and "size" not in pre
        gen = json.loads((checkpoints[family] / "generation_config.json").read_text())
        assert gen["repetition_penalty"] == 1.05 and len(gen["eos_token_id"]) == 2
    pre = json.loads((checkpoints["llava"] / "preprocessor_config.json").read_text())
    assert pre["image_processor_type"] == "CLIPImageProcessor" and pre["do_center_crop"]


# -- bug: the pixel budget was refused on the published layout ---------------------------


@pytest.mark.parametrize("family", QWEN_FAMILIES)
def test_aliases_load_the_published_checkpoints_with_the_pinned_budget(
    checkpoints: dict[str, Path], family: str, item: Item, tmp_path: Path
) -> None:
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    models_file = tmp_path / "rest_models.toml"
    models_file.write_text(
        f'[models."{ALIASES[family]}"]\nbackend = "hf"\nname = "{checkpoints[family]}"\n'
        f"max_new_tokens = {NEW_TOKENS}\n",
        encoding="utf-8",
    )
    options = ModelOptions(models_file=models_file)
    model = load(resolve(ALIASES[family], options), options)
    assert isinstance(model, HFModel)
    image = requests_of(item)[1]
    (response,) = model.generate([image])
    budget = hf_images.pixel_budget_of(model._processor.image_processor)
    assert budget == (QWEN_MIN_PIXELS, QWEN_MAX_PIXELS)
    assert image.image_png is not None
    width, height = Image.open(io.BytesIO(image.image_png)).size
    h, w = smart_resize(height, width, 28, QWEN_MIN_PIXELS, QWEN_MAX_PIXELS)
    assert response.n_visual_tokens == (h // 28) * (w // 28)
    assert model.identity()["min_pixels"] == QWEN_MIN_PIXELS


def test_llava_alias_loads_the_published_checkpoint(
    checkpoints: dict[str, Path], item: Item, tmp_path: Path
) -> None:
    models_file = tmp_path / "rest_models.toml"
    models_file.write_text(
        f'[models."llava-1.5"]\nbackend = "hf"\nname = "{checkpoints["llava"]}"\n'
        f"max_new_tokens = {NEW_TOKENS}\n",
        encoding="utf-8",
    )
    options = ModelOptions(models_file=models_file)
    model = load(resolve("llava-1.5", options), options)
    responses = model.generate(requests_of(item))
    assert [r.n_visual_tokens for r in responses] == [None, 16, 16]
    identity = model.identity()
    assert identity["image_fit"] == "pad-square" and identity["eos_token_ids"] == [2]


def test_pytest_model_qwen2_vl_runs_the_suite_on_the_published_layout(
    checkpoints: dict[str, Path], pytester: pytest.Pytester
) -> None:
    repo = Path(__file__).resolve().parents[2]
    pytester.makepyfile(test_rest_suite=(repo / "tests" / "test_rest_suite.py").read_text())
    pytester.makeconftest((repo / "conftest.py").read_text())
    (pytester.path / "rest_models.toml").write_text(
        f'[models."qwen2-vl"]\nbackend = "hf"\nname = "{checkpoints["qwen2_vl"]}"\n'
        f"max_new_tokens = {NEW_TOKENS}\n",
        encoding="utf-8",
    )
    result = pytester.runpytest_subprocess(
        "--model", "qwen2-vl", "--rest-suite", "arith", "--rest-n", "1",
        "--rest-json", "out.json", "-p", "no:xdist", "-p", "no:randomly",
    )  # fmt: skip
    # A random model answers nothing parseable: the one case runs, and fails as inconsistent.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*model identity*"min_pixels": 200704, "name": "qwen2-vl"*'])
    data = json.loads((pytester.path / "out.json").read_text())
    assert data["model_identity"]["eos_token_ids"] == published_eos(checkpoints["qwen2_vl"])
    visual = data["items"][0]["n_visual_tokens"]
    assert visual["text"] is None and visual["image"] > visual["mixed"] > 0


def published_eos(directory: Path) -> list[int]:
    return json.loads((directory / "generation_config.json").read_text())["eos_token_id"]


# -- bug: LLaVA saw only the middle of the page -----------------------------------------

MARKERS = {  # corner -> colour
    ("top", "left"): (255, 0, 0),
    ("top", "right"): (0, 160, 0),
    ("bottom", "left"): (0, 0, 255),
    ("bottom", "right"): (255, 0, 255),
}


def page_with_corner_markers(item: Item) -> bytes:
    """The default rendering of ``item`` (a wide page) with a coloured square in each corner."""
    png = requests_of(item, dpi=200)[1].image_png
    assert png is not None
    page = Image.open(io.BytesIO(png)).convert("RGB")
    side = min(page.size) // 3
    draw = ImageDraw.Draw(page)
    for (vertical, horizontal), colour in MARKERS.items():
        x = 0 if horizontal == "left" else page.width - side
        y = 0 if vertical == "top" else page.height - side
        draw.rectangle([x, y, x + side - 1, y + side - 1], fill=colour)
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def corners_found(pixels: Any) -> dict[tuple[str, str], bool]:
    """Which markers an RGB ``[3, H, W]`` float tensor (0-255) shows, each in its own corner
    of the picture (relative to the centre of what is not padding)."""
    found = {}
    height, width = pixels.shape[1:]
    for (vertical, horizontal), colour in MARKERS.items():
        target = torch.tensor(colour, dtype=torch.float32).view(3, 1, 1)
        close = ((pixels - target).abs().amax(dim=0) < 40).nonzero()
        ok = False
        if len(close):
            y, x = close.float().mean(dim=0).tolist()
            ok = (y < height / 2) == (vertical == "top") and (x < width / 2) == (
                horizontal == "left"
            )
        found[(vertical, horizontal)] = ok
    return found


def denormalise(pixels: Any, processor: Any) -> Any:
    mean = torch.tensor(processor.image_mean).view(3, 1, 1)
    std = torch.tensor(processor.image_std).view(3, 1, 1)
    return (pixels.float() * std + mean) * 255


def qwen_picture(inputs: Any, processor: Any) -> Any:
    """Undo Qwen2-VL's patch flattening: ``pixel_values`` -> one ``[3, H, W]`` picture."""
    _, gh, gw = inputs["image_grid_thw"][0].tolist()
    m, p, t = processor.merge_size, processor.patch_size, processor.temporal_patch_size
    flat = inputs["pixel_values"].view(gh // m, gw // m, m, m, 3, t, p, p)[:, :, :, :, :, 0]
    picture = flat.permute(4, 0, 2, 5, 1, 3, 6).reshape(3, gh * p, gw * p)
    return denormalise(picture, processor)


def test_llava_sees_every_corner_of_a_wide_page(checkpoints: dict[str, Path], item: Item) -> None:
    model = hf(checkpoints["llava"])
    model.load()
    request = dataclasses.replace(requests_of(item)[1], page=page_with_corner_markers(item))
    p = model._prepare(0, request)
    assert p.image.width == p.image.height  # padded to a square, not cut
    inputs = model._encode([p.chat_text], [p.image])
    picture = denormalise(inputs["pixel_values"][0], model._processor.image_processor)
    assert all(corners_found(picture).values()), corners_found(picture)


def test_llava_pads_with_the_processor_mean_colour() -> None:
    page = Image.new("RGB", (30, 10), (255, 255, 255))
    square = hf_images.pad_to_square(page, hf_images.mean_colour(published.CLIP_MEAN))
    assert square.size == (30, 30)
    assert square.getpixel((0, 0)) == (122, 116, 104)
    assert square.getpixel((15, 15)) == (255, 255, 255)  # the page itself, centred
    assert hf_images.pad_to_square(square, (0, 0, 0)) is not square  # square: a plain copy


@pytest.mark.parametrize("family", QWEN_FAMILIES)
def test_qwen_resize_keeps_every_corner(
    checkpoints: dict[str, Path], item: Item, family: str
) -> None:
    model = hf(checkpoints[family])
    model.load()
    request = dataclasses.replace(requests_of(item)[1], page=page_with_corner_markers(item))
    p = model._prepare(0, request)
    inputs = model._encode([p.chat_text], [p.image])
    picture = qwen_picture(inputs, model._processor.image_processor)
    assert all(corners_found(picture).values()), corners_found(picture)


def test_the_corner_check_sees_a_centre_crop(item: Item) -> None:
    # The check itself fails on what llava-hf's processor used to make of the page.
    page = Image.open(io.BytesIO(page_with_corner_markers(item)))
    side = min(page.size)
    left = (page.width - side) // 2
    cropped = page.crop((left, 0, left + side, side))
    pixels = torch.tensor(np.asarray(cropped), dtype=torch.float32).permute(2, 0, 1)
    assert not any(corners_found(pixels).values())


# -- bug: the checkpoint's repetition penalty was applied ---------------------------------


@pytest.fixture(scope="module")
def penalised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny Qwen2-VL twice: with a heavy repetition penalty and a top-k filter in its
    generation config, and with neither (in the layout transformers saves, so that only the
    generation config differs from what loads everywhere)."""
    base = build_tiny_qwen2_vl(tmp_path_factory.mktemp("qwen-base") / "qwen2-vl")
    out = {}
    for name, extra in (("heavy", {"repetition_penalty": 20.0, "top_k": 2}), ("none", {})):
        directory = tmp_path_factory.mktemp(f"qwen-{name}") / "qwen2-vl"
        shutil.copytree(base, directory)
        config = json.loads((directory / "generation_config.json").read_text())
        config.update(extra)
        (directory / "generation_config.json").write_text(json.dumps(config))
        out[name] = directory
    return out


def manual_greedy(model: HFModel, request: Request, steps: int) -> tuple[list[int], Any]:
    """Greedy search by hand: forward, argmax, append; the tokens and the raw logits."""
    p = model._prepare(0, request)
    ids = model._encode([p.chat_text], [])["input_ids"]
    tokens, logits = [], []
    with torch.inference_mode():
        for _ in range(steps):
            last = model._model(input_ids=ids).logits[0, -1].float()
            logits.append(last)
            token = int(last.argmax())
            tokens.append(token)
            if token in model.eos_ids:
                break
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    return tokens, torch.stack(logits)


def test_decoding_ignores_the_checkpoints_penalty_and_filters(
    penalised: dict[str, Path], item: Item
) -> None:
    heavy, plain = hf(penalised["heavy"]), hf(penalised["none"])
    requests = requests_of(item)
    assert [r.text for r in heavy.generate(requests)] == [r.text for r in plain.generate(requests)]
    assert heavy.identity()["repetition_penalty"] == 1.0
    assert heavy._model.generation_config.repetition_penalty == 1.0
    text = requests[0]
    (scores,) = heavy.step_scores([text])
    tokens, logits = manual_greedy(heavy, text, NEW_TOKENS)
    assert scores.argmax(dim=1).tolist() == tokens[: len(scores)]
    torch.testing.assert_close(scores, logits[: len(scores)], rtol=1e-4, atol=1e-4)


def test_stops_at_every_token_of_the_checkpoints_eos_list(
    checkpoints: dict[str, Path],
) -> None:
    model = hf(checkpoints["qwen2_vl"])
    tokenizer_ids = json.loads((checkpoints["qwen2_vl"] / "generation_config.json").read_text())
    assert model.eos_ids == tokenizer_ids["eos_token_id"]
    model.load()
    assert model._model.generation_config.eos_token_id == model.eos_ids
    assert model.identity()["eos_token_ids"] == model.eos_ids


# -- batched == one at a time, on the scores ---------------------------------------------


def assert_same_scores(model: HFModel, requests: list[Request]) -> None:
    prepared = [model._prepare(i, r) for i, r in enumerate(requests)]
    together = model._decode(prepared, with_scores=True)
    for p, row in zip(prepared, together, strict=True):
        (alone,) = model._decode([dataclasses.replace(p, index=0)], with_scores=True)
        assert row.tokens == alone.tokens, p.request.modality
        assert row.n_visual == alone.n_visual
        torch.testing.assert_close(row.scores, alone.scores, rtol=1e-4, atol=1e-4)


def test_qwen_batch_of_mixed_sizes_and_text_rows_scores_as_one_at_a_time(
    checkpoints: dict[str, Path], item: Item
) -> None:
    model = hf(checkpoints["qwen2_vl"], settings={"min_pixels": 4 * 28 * 28})
    model.load()
    low, high = requests_of(item, dpi=50), requests_of(item, dpi=100)
    batch = [low[1], low[0], high[1], low[2], high[2]]  # images of three sizes, one text row
    assert len({r.image_png for r in batch if r.image_png}) == 4
    assert_same_scores(model, batch)


def test_llava_batch_scores_as_one_at_a_time(checkpoints: dict[str, Path], item: Item) -> None:
    model = hf(checkpoints["llava"])
    model.load()
    assert_same_scores(model, requests_of(item) + requests_of(item, dpi=100)[1:])


def test_step_scores_follow_generate_batching(checkpoints: dict[str, Path], item: Item) -> None:
    batched = hf(checkpoints["qwen2_5_vl"], batch_size=3)
    single = hf(checkpoints["qwen2_5_vl"], batch_size=1)
    requests = requests_of(item)
    for a, b in zip(batched.step_scores(requests), single.step_scores(requests), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


# -- device_map="auto" -------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="disk offload uses memory-mapped files")
def test_auto_device_map_offloads_and_answers_the_same(
    checkpoints: dict[str, Path], item: Item
) -> None:
    pytest.importorskip("accelerate")
    # A CPU allowance far below the model's size: accelerate puts the rest on disk.
    spread = hf(checkpoints["qwen2_vl"], device="auto", settings={"max_memory": {"cpu": "500KB"}})
    plain = hf(checkpoints["qwen2_vl"], device="cpu")
    assert spread.identity()["device_map"] == "auto" and plain.identity()["device_map"] is None
    requests = requests_of(item)
    assert [r.text for r in spread.generate(requests)] == [r.text for r in plain.generate(requests)]
    placed = set(spread._model.hf_device_map.values())
    assert "disk" in placed and len(placed) > 1, placed
    spread.close()


def test_max_memory_is_refused_for_a_fixed_device(checkpoints: dict[str, Path]) -> None:
    from rest_checks.models.base import ModelError

    with pytest.raises(ModelError, match="max_memory applies to --rest-device auto only"):
        hf(checkpoints["llava"], device="cpu", settings={"max_memory": {"cpu": "1GB"}})


# -- the dependency range is the tested one ------------------------------------------------


def test_hf_extra_pins_the_transformers_range_these_tests_run_on() -> None:
    from importlib.metadata import version

    from packaging.requirements import Requirement

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["hf"]
    requirements = {r.name: r for r in map(Requirement, extra)}
    transformers = requirements["transformers"].specifier
    # The backend relies on transformers 5 (dtype=, SizeDict sizes, generate's config merge):
    # no 4.x release may satisfy the range, and the installed one must.
    assert not transformers.contains("4.57.6")
    assert transformers.contains(version("transformers"))
    assert "accelerate" in requirements  # --rest-device auto needs it
    assert requirements["accelerate"].specifier.contains(version("accelerate"))


# -- the opt-in fast path ------------------------------------------------------------------


def test_fast_path_gives_the_plain_paths_answers_and_scores(
    checkpoints: dict[str, Path], item: Item
) -> None:
    settings = {"min_pixels": 4 * 28 * 28}
    fast = hf(checkpoints["qwen2_vl"], batch_size=4, settings={**settings, "fast_path": True})
    plain = hf(checkpoints["qwen2_vl"], batch_size=4, settings=settings)
    assert fast.identity()["fast_path"] == "static-cache" and "fast_path" not in plain.identity()
    requests = requests_of(item) + requests_of(item, dpi=100)[1:]
    assert [r.text for r in fast.generate(requests)] == [r.text for r in plain.generate(requests)]
    assert fast._model.generation_config.cache_implementation == "static"
    assert fast._model.config._attn_implementation == "sdpa"
    for a, b in zip(fast.step_scores(requests), plain.step_scores(requests), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
