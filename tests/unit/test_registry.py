"""Model specs: built-ins, aliases, user definitions and the error for unknown ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rest_checks.models.base import UnknownModelError
from rest_checks.models.registry import OLLAMA_BASE_URL, ModelOptions, known_specs, resolve


@pytest.mark.parametrize(
    ("spec", "backend", "name"),
    [
        ("reference", "reference", "reference"),
        ("mock:oracle", "mock", "oracle"),
        ("openai:gpt-4.1", "openai", "gpt-4.1"),
        ("hf:/models/my-vlm", "hf", "/models/my-vlm"),
        ("qwen2-vl", "hf", "Qwen/Qwen2-VL-2B-Instruct"),
        ("qwen2.5-vl", "hf", "Qwen/Qwen2.5-VL-3B-Instruct"),
        ("llava-1.5", "hf", "llava-hf/llava-1.5-7b-hf"),
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("gpt-5-mini", "openai", "gpt-5-mini"),
    ],
)
def test_specs_resolve_to_backend_and_name(spec: str, backend: str, name: str) -> None:
    resolved = resolve(spec)
    assert (resolved.backend, resolved.name) == (backend, name)


def test_qwen_aliases_pin_their_pixel_budget() -> None:
    params = resolve("qwen2-vl").params
    assert params["min_pixels"] > 0 and params["max_pixels"] > params["min_pixels"]


def test_ollama_points_at_the_local_port() -> None:
    resolved = resolve("ollama:llava:13b")
    assert resolved.backend == "openai" and resolved.name == "llava:13b"
    assert resolved.params["base_url"] == OLLAMA_BASE_URL


def test_unknown_spec_lists_what_is_known() -> None:
    with pytest.raises(
        UnknownModelError,
        match=r"unknown model 'gpt-9'; known: reference, "
        r"mock:oracle, mock:text-only, openai:NAME",
    ):
        resolve("gpt-9")


def test_user_models_come_from_rest_models_toml(tmp_path: Path) -> None:
    models = tmp_path / "rest_models.toml"
    models.write_text(
        '[models.local-vllm]\nbackend = "openai"\nname = "Qwen/Qwen2.5-VL-7B-Instruct"\n'
        'base_url = "http://127.0.0.1:8000/v1"\napi_key_env = "VLLM_KEY"\ntemperature = 0\n'
    )
    options = ModelOptions(models_file=models)
    resolved = resolve("local-vllm", options)
    assert resolved.backend == "openai"
    assert resolved.params["base_url"] == "http://127.0.0.1:8000/v1"
    assert resolved.params["api_key_env"] == "VLLM_KEY"
    assert "local-vllm" in known_specs(options)


def test_bad_user_model_file_says_what_is_wrong(tmp_path: Path) -> None:
    models = tmp_path / "rest_models.toml"
    models.write_text('[models.x]\nbackend = "tpu"\nname = "m"\n')
    with pytest.raises(UnknownModelError, match="model 'x' has backend 'tpu'"):
        resolve("x", ModelOptions(models_file=models))
    models.write_text("[models.x\n")
    with pytest.raises(UnknownModelError, match="not valid TOML"):
        resolve("x", ModelOptions(models_file=models))


def test_importing_the_registry_imports_no_heavy_backend() -> None:
    code = (
        "import sys, rest_checks.models.registry, rest_checks.plugin\n"
        "heavy = [m for m in ('torch', 'transformers', 'openai') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
