"""The pure parts of the transformers backend: which stop tokens and decoding settings a
checkpoint gets, and how a page is fitted to its image processor."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rest_checks.models import hf_images
from rest_checks.models.hf_decoding import checkpoint_eos_ids, token_ids


def test_token_ids_of_every_form() -> None:
    assert token_ids(None) == []
    assert token_ids(7) == [7]
    assert token_ids([151645, 151643]) == [151645, 151643]
    assert token_ids((1, None, 2)) == [1, 2]


def test_eos_list_comes_from_the_generation_config_first() -> None:
    text = SimpleNamespace(eos_token_id=9)
    config = SimpleNamespace(eos_token_id=None, get_text_config=lambda: text)
    assert checkpoint_eos_ids(SimpleNamespace(eos_token_id=[4, 5]), config) == [4, 5]
    assert checkpoint_eos_ids(SimpleNamespace(eos_token_id=None), config) == [9]
    bare = SimpleNamespace(eos_token_id=None, get_text_config=lambda: None)
    assert checkpoint_eos_ids(SimpleNamespace(eos_token_id=None), bare) == []


def test_greedy_config_carries_nothing_but_greedy_and_the_stop_tokens() -> None:
    pytest.importorskip("transformers")
    from rest_checks.models.hf_decoding import greedy_config

    config = greedy_config([4, 5], pad_id=5, bos_id=None)
    assert (config.do_sample, config.num_beams, config.repetition_penalty) == (False, 1, 1.0)
    assert config.eos_token_id == [4, 5] and config.pad_token_id == 5
    assert config.top_k is None and config.top_p is None and config.temperature is None


@pytest.mark.parametrize(
    ("model_type", "processor", "fit"),
    [
        ("llava", {}, "pad-square"),
        ("qwen2_vl", {"min_pixels": 3136}, "processor"),
        ("siglip_thing", {"do_center_crop": True}, "pad-square"),
        ("idefics", {"do_center_crop": False}, "processor"),
        # Anyres tiling keeps the page whole: never padded, though llava-v1.6's json crops.
        ("llava_next", {"do_center_crop": True, "image_grid_pinpoints": [[336, 672]]}, "processor"),
        ("llava_onevision", {"do_center_crop": True}, "processor"),
        ("mistral3", {}, "processor"),
        ("gemma3", {}, "processor"),
        ("qwen3_vl", {"size": {"shortest_edge": 65536}}, "processor"),
    ],
)
def test_image_fit(model_type: str, processor: dict, fit: str) -> None:
    assert hf_images.image_fit(model_type, processor) == fit


def test_pixtral_under_the_llava_model_type_is_not_padded() -> None:
    # Pixtral-12B is published as model_type "llava" with a pixtral vision tower.
    assert hf_images.image_fit("llava", {}, "pixtral") == "processor"
    pixtral = {"image_processor_type": "PixtralImageProcessor", "do_center_crop": False}
    assert hf_images.image_fit("llava", pixtral) == "processor"
    assert hf_images.image_fit("llava", {}, "clip_vision_model") == "pad-square"


def test_pixel_budget_is_read_from_any_form_of_size() -> None:
    assert hf_images.pixel_budget_of(
        SimpleNamespace(size={"shortest_edge": 1, "longest_edge": 2})
    ) == (1, 2)
    assert hf_images.pixel_budget_of(
        SimpleNamespace(size=SimpleNamespace(shortest_edge=3, longest_edge=4))
    ) == (3, 4)
    assert hf_images.pixel_budget_of(SimpleNamespace(size=None, min_pixels=5, max_pixels=6)) == (
        5,
        6,
    )


def test_mean_colour_falls_back_to_grey() -> None:
    assert hf_images.mean_colour([0.5, 0.25, 1.0]) == (127, 63, 255)
    assert hf_images.mean_colour(None) == (128, 128, 128)
