"""The Hugging Face backend, through the real from_pretrained and generate code paths, on a
tiny randomly initialised Qwen2-VL and LLaVA built on the spot (no hub, no download), each in
two file layouts: as the installed transformers saves it, and as the published checkpoints
are laid out (tests/tiny_models/published.py)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rest_checks.items.base import Item  # noqa: E402
from rest_checks.items.soebench import generate_soebench  # noqa: E402
from rest_checks.models import hf_probe  # noqa: E402
from rest_checks.models.base import ModelError  # noqa: E402
from rest_checks.models.hf import HFModel, default_qwen_pixels  # noqa: E402
from rest_checks.models.registry import load, resolve  # noqa: E402
from rest_checks.prompts import Request, build_requests  # noqa: E402
from rest_checks.render.drawing import render_image  # noqa: E402
from rest_checks.render.specs import RenderSpec  # noqa: E402
from tests.tiny_models.published import publish_llava, publish_qwen  # noqa: E402
from tests.tiny_models.qwen2_vl import TINY_TEXT_CONFIG, build_tiny_qwen2_vl  # noqa: E402

# A small pixel floor, so that a 50 DPI page is not scaled up to the Qwen default floor.
PIXELS = {"min_pixels": 4 * 28 * 28, "max_pixels": 1280 * 28 * 28}
NEW_TOKENS = 5
SMALL = RenderSpec(dpi=50)


@pytest.fixture(scope="session", params=["saved", "published"])
def tiny_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen2-vl"))
    return publish_qwen(directory) if request.param == "published" else directory


@pytest.fixture(scope="module")
def model(tiny_dir: Path) -> HFModel:
    m = HFModel(
        str(tiny_dir),
        spec="hf:tiny",
        device="cpu",
        dtype="float32",
        batch_size=4,
        probe=True,
        settings={**PIXELS, "max_new_tokens": NEW_TOKENS},
    )
    m.load()
    return m


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return generate_soebench(2, seed=3)


def requests_for(items: list[Item], spec: RenderSpec = SMALL) -> list[Request]:
    out: list[Request] = []
    for item in items:
        out.extend(build_requests(item, spec, with_ocr=False).values())
    return out


# -- imports stay light ---------------------------------------------------------------


@pytest.mark.parametrize("module", ["rest_checks.models.registry", "rest_checks.models.hf"])
def test_importing_the_backend_does_not_import_torch(module: str) -> None:
    code = f"import {module}, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- loading --------------------------------------------------------------------------


def test_loads_the_saved_checkpoint_with_the_auto_classes(model: HFModel) -> None:
    assert type(model._model).__name__ == "Qwen2VLForConditionalGeneration"
    assert type(model._processor).__name__ == "Qwen2VLProcessor"
    assert model._processor.tokenizer.padding_side == "left"
    size = model._processor.image_processor.size
    assert (size.shortest_edge, size.longest_edge) == (PIXELS["min_pixels"], PIXELS["max_pixels"])


def test_weights_load_on_first_use_only(tiny_dir: Path) -> None:
    m = HFModel(str(tiny_dir), spec="hf:tiny", settings=PIXELS)
    assert not m.loaded
    assert m.identity()["batch_size"] == 8
    assert not m.loaded


def test_registry_builds_an_hf_model_with_the_qwen_pixel_budget(tiny_dir: Path) -> None:
    m = load(resolve(f"hf:{tiny_dir}"))
    assert isinstance(m, HFModel)
    identity = m.identity()
    assert (identity["min_pixels"], identity["max_pixels"]) == tuple(
        default_qwen_pixels()[k] for k in ("min_pixels", "max_pixels")
    )


def test_chat_template_wraps_image_and_prompt(model: HFModel) -> None:
    text = model.chat_text("What is 2 + 2?", with_image=True)
    assert text.endswith(
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is 2 + 2?"
        "<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "<|image_pad|>" not in model.chat_text("What is 2 + 2?", with_image=False)


# -- generation -----------------------------------------------------------------------


def test_generates_for_text_image_and_mixed(model: HFModel, items: list[Item]) -> None:
    requests = requests_for(items[:1])
    responses = model.generate(requests)
    assert [r.modality for r in requests] == ["text", "image", "mixed"]
    assert len(responses) == 3
    for response in responses:
        assert isinstance(response.text, str)
        assert 0 <= response.extra["new_tokens"] <= NEW_TOKENS
        assert response.extra["finish_reason"] in ("stop", "length")
        assert response.extra["new_tokens"] == NEW_TOKENS or response.extra["finish_reason"] == (
            "stop"
        )
    text, image, mixed = responses
    assert text.n_visual_tokens is None
    assert image.n_visual_tokens is not None and mixed.n_visual_tokens is not None
    # The mixed image holds only the equations, the image one the question as well.
    assert 0 < mixed.n_visual_tokens < image.n_visual_tokens
    assert image.extra["prompt_tokens"] > image.n_visual_tokens


def test_visual_tokens_follow_the_pinned_pixel_budget(model: HFModel, items: list[Item]) -> None:
    from PIL import Image
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    request = build_requests(items[0], SMALL, with_ocr=False)["image"]
    (response,) = model.generate([dataclasses.replace(request, max_tokens=1)])
    assert request.image_png is not None
    width, height = Image.open(io.BytesIO(request.image_png)).size
    h, w = smart_resize(height, width, 28, PIXELS["min_pixels"], PIXELS["max_pixels"])
    assert response.n_visual_tokens == (h // 28) * (w // 28)


def test_visual_tokens_grow_with_resolution(model: HFModel, items: list[Item]) -> None:
    low, high = (
        dataclasses.replace(
            build_requests(items[0], RenderSpec(dpi=dpi), with_ocr=False)["image"], max_tokens=1
        )
        for dpi in (50, 200)
    )
    n_low, n_high = (r.n_visual_tokens for r in model.generate([low, high]))
    assert n_low is not None and n_high is not None
    assert n_high > 4 * n_low


def test_request_budget_is_capped_by_the_setting(model: HFModel, items: list[Item]) -> None:
    text = build_requests(items[0], SMALL, with_ocr=False)["text"]
    short, long = model.generate(
        [dataclasses.replace(text, max_tokens=2), dataclasses.replace(text, max_tokens=500)]
    )
    assert short.extra["new_tokens"] <= 2
    assert long.extra["new_tokens"] <= NEW_TOKENS
    # Greedy decoding is prefix-stable: the short answer starts the long one.
    assert long.text.startswith(short.text)


def test_batched_answers_equal_one_at_a_time(
    tiny_dir: Path, model: HFModel, items: list[Item]
) -> None:
    requests = requests_for(items)
    one = HFModel(
        str(tiny_dir),
        spec="hf:tiny",
        device="cpu",
        dtype="float32",
        batch_size=1,
        settings={**PIXELS, "max_new_tokens": NEW_TOKENS},
    )
    singly = one.generate(requests)
    batched = model.generate(requests)
    assert model.batch_size == 4
    assert [r.text for r in batched] == [r.text for r in singly]
    assert [r.n_visual_tokens for r in batched] == [r.n_visual_tokens for r in singly]
    one.close()


def test_batches_split_by_image_and_batch_size(model: HFModel, items: list[Item]) -> None:
    prepared = [model._prepare(i, r) for i, r in enumerate(requests_for(items))]
    batches = model.batches(prepared)
    assert sorted(p.index for b in batches for p in b) == list(range(len(prepared)))
    assert all(1 <= len(b) <= model.batch_size for b in batches)
    assert all(len({p.image is None for p in b}) == 1 for b in batches)


def test_unreadable_image_is_that_requests_error(model: HFModel, items: list[Item]) -> None:
    requests = build_requests(items[0], SMALL, with_ocr=False)
    bad = dataclasses.replace(requests["image"], page=b"not a png")
    broken, text = model.generate([bad, requests["text"]])
    assert broken.error is not None and "soebench-0001/image" in broken.error
    assert "PNG" in broken.error
    assert text.error is None and text.extra["new_tokens"] > 0


def test_pages_reach_the_processor_as_their_rgb_pixels(model: HFModel, items: list[Item]) -> None:
    request = build_requests(items[0], SMALL, with_ocr=False)["image"]
    image = model._prepare(0, request).image
    assert image.mode == "RGB"
    assert image.tobytes() == render_image(items[0].full_text(), SMALL).tobytes()


# -- representation probe -------------------------------------------------------------


def test_probe_gives_one_cosine_per_layer(model: HFModel, items: list[Item]) -> None:
    requests = requests_for(items[:1])
    # The text request comes last: the probe must not depend on the order.
    image, mixed, text = model.generate([requests[1], requests[2], requests[0]])
    assert "probe" not in text.extra
    n_layers = TINY_TEXT_CONFIG["num_hidden_layers"] + 1  # with the embedding layer
    for response, span in ((image, "full_text"), (mixed, "context")):
        probe = response.extra["probe"]
        assert probe["text_span"] == span
        assert len(probe["layer_cosine"]) == n_layers
        assert all(-1.0 <= c <= 1.0 for c in probe["layer_cosine"])
        assert probe["image_tokens"] == response.n_visual_tokens
        assert probe["text_tokens"] > 0
    json.dumps(image.extra)


def test_probe_text_tokens_cover_exactly_the_content(model: HFModel, items: list[Item]) -> None:
    item = items[0]
    pools = model.text_pools(item)
    request = build_requests(item, SMALL, with_ocr=False)["text"]
    rendered = model.chat_text(request.prompt, with_image=False)
    encoded = model._processor.tokenizer(rendered, return_offsets_mapping=True)
    start, end = hf_probe.content_char_span(rendered, item.full_text())
    positions = hf_probe.token_positions_in_span(encoded["offset_mapping"], start, end)
    ids = [encoded["input_ids"][i] for i in positions]
    decoded = model._processor.tokenizer.decode(ids)
    assert decoded.strip() == item.full_text().strip()
    assert pools["full_text"][1] == len(positions)
    assert 0 < pools["context"][1] < pools["full_text"][1]


def test_probe_last_layer_is_after_the_final_norm(model: HFModel, items: list[Item]) -> None:
    request = build_requests(items[0], SMALL, with_ocr=False)["text"]
    inputs = model._encode([model._prepare(0, request).chat_text], [])
    language_model = model._model.model.language_model
    raw: list[torch.Tensor] = []
    hook = language_model.layers[-1].register_forward_hook(
        lambda module, args, output: raw.append(output[0] if isinstance(output, tuple) else output)
    )
    try:
        states = model._hidden_states(inputs)
    finally:
        hook.remove()
    assert len(states) == TINY_TEXT_CONFIG["num_hidden_layers"] + 1
    with torch.inference_mode():
        normed = language_model.norm(raw[0])
    torch.testing.assert_close(states[-1], normed)
    assert not torch.allclose(states[-1], raw[0])


def test_probe_is_off_unless_asked(tiny_dir: Path, items: list[Item]) -> None:
    m = HFModel(str(tiny_dir), spec="hf:tiny", settings={**PIXELS, "max_new_tokens": 1})
    request = build_requests(items[0], SMALL, with_ocr=False)["image"]
    (response,) = m.generate([request])
    assert "probe" not in response.extra


def test_layerwise_cosine_of_known_vectors() -> None:
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    b = torch.tensor([[2.0, 0.0], [-1.0, -1.0], [3.0, 0.0], [1.0, 0.0]])
    assert hf_probe.layerwise_cosine(a, b) == pytest.approx([1.0, -1.0, 0.0, 0.0])


def test_layerwise_cosine_needs_matching_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(3, 2\)"):
        hf_probe.layerwise_cosine(torch.zeros(2, 3), torch.zeros(3, 2))


def test_token_positions_overlapping_a_span() -> None:
    offsets = [(0, 3), (3, 5), (5, 5), (5, 9), (9, 12)]
    assert hf_probe.token_positions_in_span(offsets, 4, 9) == [1, 3]


def test_content_span_is_the_last_occurrence() -> None:
    assert hf_probe.content_char_span("x=1 then x=1 here", "x=1") == (9, 12)
    with pytest.raises(ValueError, match="not in the rendered prompt"):
        hf_probe.content_char_span("abc", "zzz")


# -- identity and settings ------------------------------------------------------------


def test_identity_holds_what_changes_answers(model: HFModel, tiny_dir: Path) -> None:
    identity = model.identity()
    assert identity["backend"] == "hf"
    assert identity["name"] == tiny_dir.name  # not the machine's path
    assert str(identity["revision"]).startswith("local:")
    assert (identity["min_pixels"], identity["max_pixels"]) == (
        PIXELS["min_pixels"],
        PIXELS["max_pixels"],
    )
    assert (identity["batch_size"], identity["dtype"], identity["device"]) == (
        4,
        "float32",
        "cpu",
    )
    assert identity["max_new_tokens"] == f"min(request, {NEW_TOKENS})"
    json.dumps(identity)
    # The fixture's model probes, and probing runs are cached apart from plain ones.
    assert identity["probe"] is True
    other = HFModel(str(tiny_dir), spec="hf:tiny", batch_size=16, settings=PIXELS)
    assert other.identity()["batch_size"] == 16
    assert "probe" not in other.identity()
    assert {
        **other.identity(),
        "batch_size": 4,
        "max_new_tokens": identity["max_new_tokens"],
        "probe": True,
    } == identity


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"settings": {"max_pixel": 5}}, "unknown hf setting.*max_pixel"),
        ({"settings": {"min_pixels": 10, "max_pixels": 5}}, "min_pixels <= max_pixels"),
        ({"dtype": "float8"}, "unknown dtype 'float8'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
    ],
)
def test_bad_options_are_model_errors(tiny_dir: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        HFModel(str(tiny_dir), spec="hf:tiny", **kwargs)


def test_missing_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read the config"):
        HFModel(str(tmp_path / "nowhere"), spec="hf:nowhere")


# -- a second architecture: LLaVA-1.5 style (fixed-square CLIP input, BOS-adding tokenizer)


@pytest.fixture(scope="module", params=["saved", "published"])
def llava_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models.llava import build_tiny_llava

    directory = build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))
    return publish_llava(directory) if request.param == "published" else directory


def test_llava_generates_through_the_same_auto_classes(llava_dir: Path, items: list[Item]) -> None:
    from tests.tiny_models.llava import IMAGE_SIZE

    settings = {"max_new_tokens": NEW_TOKENS}
    batched = HFModel(str(llava_dir), spec="hf:llava", batch_size=4, probe=True, settings=settings)
    single = HFModel(str(llava_dir), spec="hf:llava", batch_size=1, settings=settings)
    requests = requests_for(items)
    out = batched.generate(requests)
    assert type(batched._model).__name__ == "LlavaForConditionalGeneration"
    assert [r.text for r in out] == [r.text for r in single.generate(requests)]
    # Every page is padded to one square: the visual token count does not follow the DPI.
    patches = (IMAGE_SIZE // 14) ** 2
    assert [r.n_visual_tokens for r in out] == [
        None if r.image_png is None else patches for r in requests
    ]
    assert batched.identity()["min_pixels"] is None
    image = out[1]
    assert len(image.extra["probe"]["layer_cosine"]) == 3
    # The tokenizer puts a BOS first; the probe's text span must still be the content.
    pools = batched.text_pools(items[0])
    rendered = batched.chat_text(requests[0].prompt, with_image=False)
    encoded = batched._processor.tokenizer(rendered)
    assert encoded["input_ids"][0] == batched._processor.tokenizer.bos_token_id
    n_content = len(
        batched._processor.tokenizer(items[0].full_text(), add_special_tokens=False)["input_ids"]
    )
    assert abs(pools["full_text"][1] - n_content) <= 1


def test_pixel_budget_is_refused_for_models_without_one(llava_dir: Path) -> None:
    with pytest.raises(ModelError, match="Qwen2-VL-family models only"):
        HFModel(str(llava_dir), spec="hf:llava", settings={"max_pixels": 100_000})


def test_local_checkpoints_are_identified_by_content(tmp_path: Path) -> None:
    """run1/ckpt and run2/ckpt (other weights, same name) never share cached answers; a
    checkpoint retrained in place gets a new identity."""
    from rest_checks.model_gateway import ModelCalls
    from rest_checks.response_store import ResponseCache

    one = build_tiny_qwen2_vl(tmp_path / "run1" / "ckpt", seed=0)
    two = build_tiny_qwen2_vl(tmp_path / "run2" / "ckpt", seed=1)
    options = {"device": "cpu", "settings": {**PIXELS, "max_new_tokens": NEW_TOKENS}}
    first, second = (HFModel(str(d), spec="hf:ckpt", **options) for d in (one, two))
    assert first.identity()["name"] == second.identity()["name"] == "ckpt"
    assert first.identity()["revision"] != second.identity()["revision"]
    assert str(first.identity()["revision"]).startswith("local:sha256:")

    request = build_requests(generate_soebench(1, seed=3)[0], SMALL, with_ocr=False)["text"]
    cache = ResponseCache(tmp_path / "cache")
    ModelCalls(first, cache).generate([request])
    calls = ModelCalls(second, cache)
    calls.generate([request])
    assert calls.counter.cache_hits == 0 and calls.counter.model_calls == 1

    # Retrained in place: other weights in the same files.
    build_tiny_qwen2_vl(tmp_path / "other", seed=2)
    (one / "model.safetensors").write_bytes((tmp_path / "other" / "model.safetensors").read_bytes())
    retrained = HFModel(str(one), spec="hf:ckpt", **options)
    assert retrained.identity()["revision"] != first.identity()["revision"]


def test_trust_remote_code_is_opt_in_from_the_models_file(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    from rest_checks.models.registry import ModelOptions

    models = tmp_path / "rest_models.toml"
    models.write_text(
        f'[models.plain]\nbackend = "hf"\nname = "{tiny_dir}"\n\n'
        f'[models.remote]\nbackend = "hf"\nname = "{tiny_dir}"\ntrust_remote_code = true\n'
        f'\n[models.bad]\nbackend = "hf"\nname = "{tiny_dir}"\ntrust_remote_code = "yes"\n',
        encoding="utf-8",
    )
    options = ModelOptions(models_file=models, device="cpu")
    plain, remote = (load(resolve(name, options), options) for name in ("plain", "remote"))
    assert "trust_remote_code" not in plain.identity()
    assert remote.identity()["trust_remote_code"] is True
    from rest_checks.models.registry import ModelsFileError

    # Named with the file, its line and the model, like every models-file error.
    with pytest.raises(
        ModelsFileError, match=r"rest_models.toml:\d+: model 'bad': trust_remote_code must be"
    ):
        load(resolve("bad", options), options)
    # Every from_pretrained is told explicitly: False never prompts on the terminal.
    seen: list[object] = []
    real = transformers.AutoProcessor.from_pretrained

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("trust_remote_code", "absent"))
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", spy)
    assert isinstance(plain, HFModel) and isinstance(remote, HFModel)
    plain.load()
    remote.load()
    assert seen == [False, True]
