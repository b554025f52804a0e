"""One rule per backend setting: a models file and the backend it builds accept the same
values and refuse the others in the same words."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from rest_checks.models.base import ModelError
from rest_checks.models.registry import ModelOptions, ModelsFileError, load, resolve

LOCAL = "http://127.0.0.1:9/v1"  # nothing is sent: building a model contacts no server


def file_refusal(tmp_path: Path, key: str, value: str) -> str | None:
    """What reading and building a models file with ``key = value`` says, or ``None``."""
    path = tmp_path / "rest_models.toml"
    path.write_text(
        f'[models.mine]\nbackend = "openai"\nname = "m"\nbase_url = "{LOCAL}"\n{key} = {value}\n',
        encoding="utf-8",
    )
    options = ModelOptions(models_file=path)
    try:
        load(resolve("mine", options), options).close()
    except ModelsFileError as exc:
        return str(exc)
    return None


def backend_refusal(key: str, value: Any) -> str | None:
    """What building the OpenAI backend with ``settings={key: value}`` says, or ``None``."""
    from rest_checks.models.openai_api import OpenAIModel

    try:
        OpenAIModel("m", spec="openai:m", base_url=LOCAL, settings={key: value}).close()
    except ModelError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    ("key", "toml", "value"),
    [
        ("timeout", "0.0005", 0.0005),
        ("timeout", "2", 2),
        ("retry_base_delay", "0", 0),
        ("retry_after_max", "0.0", 0.0),
        ("max_retries", "0", 0),
        ("seed", "-3", -3),
        ("temperature", '"omit"', "omit"),
    ],
)
def test_a_value_the_models_file_takes_the_backend_takes(
    tmp_path: Path, key: str, toml: str, value: Any
) -> None:
    assert file_refusal(tmp_path, key, toml) is None
    assert backend_refusal(key, value) is None


@pytest.mark.parametrize(
    ("key", "toml", "value"),
    [
        ("timeout", "-1", -1),
        ("timeout", "0", 0),
        ("timeout", "inf", math.inf),
        ("retry_max_delay", "nan", math.nan),
        ("retry_base_delay", "-0.5", -0.5),
        ("max_retries", '"many"', "many"),
        ("max_retries", "-1", -1),
        ("max_tokens", "0", 0),
        ("temperature", '"hot"', "hot"),
        ("image_detail", '"medium"', "medium"),
        ("max_completion_tokens_param", '"yes"', "yes"),
    ],
)
def test_a_bad_value_is_refused_in_the_same_words_by_the_file_and_the_backend(
    tmp_path: Path, key: str, toml: str, value: Any
) -> None:
    from_file = file_refusal(tmp_path, key, toml)
    from_backend = backend_refusal(key, value)
    assert from_file is not None and from_backend is not None
    # The words after the key's name: "must be ..., got VALUE".
    said = from_backend.split(f": {key} ", 1)[1]
    assert said.startswith("must be ")
    assert from_file.endswith(said), (from_file, from_backend)


def test_the_hf_settings_follow_the_same_rules() -> None:
    from rest_checks.models.hf_settings import hf_settings_from
    from rest_checks.models.setting_rules import problem

    for key, value in [
        ("fast_path", "yes"),
        ("trust_remote_code", 1),
        ("max_new_tokens", 0),
        ("max_memory", "70GiB"),
        ("min_pixels", 1.5),
    ]:
        with pytest.raises(ModelError) as refused:
            hf_settings_from("hf:x", {key: value})
        said = problem(key, value)
        assert said is not None
        assert str(refused.value) == f"model 'hf:x': {key} {said}"


def test_hf_settings_name_unknown_keys_and_fast_path_brings_sdpa() -> None:
    from rest_checks.models.hf_settings import hf_settings_from

    known = r"known: attn_implementation, fast_path"
    with pytest.raises(ModelError, match=rf"unknown hf setting\(s\) 'max_pixel'; {known}"):
        hf_settings_from("hf:x", {"max_pixel": 5})
    assert hf_settings_from("hf:x", {"fast_path": True}).attn_implementation == "sdpa"
    chosen = hf_settings_from("hf:x", {"fast_path": True, "attn_implementation": "eager"})
    assert chosen.attn_implementation == "eager"
    assert hf_settings_from("hf:x", {}).attn_implementation is None


def test_every_key_a_backend_or_the_models_file_checks_has_a_rule() -> None:
    from rest_checks.models.hf_settings import SETTINGS as HF_SETTINGS
    from rest_checks.models.openai_settings import SETTING_NAMES
    from rest_checks.models.registry import FILE_CHECKED_KEYS
    from rest_checks.models.setting_rules import RULES

    assert set(HF_SETTINGS) | set(SETTING_NAMES) | set(FILE_CHECKED_KEYS) <= set(RULES)


def test_a_pixel_budget_is_pinned_for_the_qwen_families_only() -> None:
    from rest_checks.models.hf_settings import hf_settings_from, pixel_budget
    from rest_checks.models.pixels import PIXEL_BUDGETS

    plain = hf_settings_from("hf:x", {})
    for model_type, budget in PIXEL_BUDGETS.items():
        assert pixel_budget("hf:x", model_type, plain) == (
            budget["min_pixels"],
            budget["max_pixels"],
        )
    assert pixel_budget("hf:x", "llava", plain) is None
    own = hf_settings_from("hf:x", {"max_pixels": 10**6})
    assert pixel_budget("hf:x", "qwen2_vl", own) == (
        PIXEL_BUDGETS["qwen2_vl"]["min_pixels"],
        10**6,
    )
    with pytest.raises(ModelError, match="apply to Qwen2-VL-family models only, not to model"):
        pixel_budget("hf:x", "llava", own)
    upside_down = hf_settings_from("hf:x", {"min_pixels": 10, "max_pixels": 5})
    with pytest.raises(ModelError, match="need 0 < min_pixels <= max_pixels, got 10 and 5"):
        pixel_budget("hf:x", "qwen2_vl", upside_down)
