"""Model specs: built-ins, aliases, user definitions and the error for unknown ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rest_checks.models import ModelsFileError as ExportedModelsFileError
from rest_checks.models import registry
from rest_checks.models.base import Model, UnknownModelError
from rest_checks.models.mock import MOCK_BEHAVIOURS, MockModel
from rest_checks.models.registry import (
    BACKENDS,
    OLLAMA_BASE_URL,
    ModelOptions,
    ModelsFileError,
    ResolvedModel,
    known_specs,
    load,
    register_model,
    resolve,
)


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


def test_bad_user_model_file_names_the_file_and_line(tmp_path: Path) -> None:
    models = tmp_path / "rest_models.toml"
    options = ModelOptions(models_file=models)
    models.write_text('# mine\n\n[models.x]\nbackend = "tpu"\nname = "m"\n')
    with pytest.raises(ModelsFileError, match=r"rest_models.toml:3: model 'x' has backend 'tpu'"):
        resolve("x", options)
    models.write_text('[models.x]\nbackend = "hf"\n')
    with pytest.raises(ModelsFileError, match=r"rest_models.toml:1: model 'x' needs a 'name'"):
        resolve("x", options)
    models.write_text('[models.ok]\nbackend = "hf"\nname = "m"\n\n[models.x\n')
    with pytest.raises(ModelsFileError, match=r"rest_models.toml:5: not valid TOML"):
        resolve("x", options)
    models.write_text("models = 3\n")
    with pytest.raises(ModelsFileError, match="must be a table"):
        resolve("reference", options)


def test_a_broken_models_file_is_not_an_unknown_model() -> None:
    assert issubclass(ModelsFileError, ValueError)
    assert not issubclass(ModelsFileError, UnknownModelError)
    assert ExportedModelsFileError is ModelsFileError


def test_the_mocks_are_the_mock_module_s_behaviours() -> None:
    mocks = [s for s in known_specs() if s.startswith("mock:")]
    assert mocks == [f"mock:{b}" for b in MOCK_BEHAVIOURS]


def test_every_built_in_spec_names_a_backend_of_the_table() -> None:
    for spec in known_specs():
        if not spec.endswith(("NAME", "REPO_OR_PATH")):
            assert resolve(spec).backend in BACKENDS, spec
    for form in ("openai:x", "hf:x", "ollama:x"):
        assert resolve(form).backend in BACKENDS


def test_resolving_hands_out_copies_of_the_alias_parameters() -> None:
    resolve("qwen2-vl").params["min_pixels"] = 1
    assert resolve("qwen2-vl").params["min_pixels"] > 1


class _Recorded(MockModel):
    pass


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Models registered by a test are gone after it."""
    monkeypatch.setattr(registry, "BACKENDS", dict(registry.BACKENDS))
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))


@pytest.mark.usefixtures("isolated")
def test_registered_models_build_through_the_backend_table(tmp_path: Path) -> None:
    seen: list[ModelOptions] = []

    def factory(options: ModelOptions) -> Model:
        seen.append(options)
        return _Recorded("oracle", spec="registered-one")

    register_model("registered-one", factory)
    models = tmp_path / "rest_models.toml"
    # The models file defines the same name: the model registered from Python wins.
    models.write_text('[models.registered-one]\nbackend = "hf"\nname = "m"\n')
    options = ModelOptions(models_file=models, batch_size=3)
    resolved = resolve("registered-one", options)
    assert resolved.backend in registry.BACKENDS
    model = load(resolved, options)
    assert isinstance(model, _Recorded) and seen == [options]
    assert "registered-one" in known_specs(options)
    assert known_specs(options).count("registered-one") == 1


@pytest.mark.usefixtures("isolated")
def test_a_registered_spec_may_look_like_a_built_in_form() -> None:
    register_model("mock:partial", lambda options: MockModel("text-only", spec="mock:partial"))
    model = load(resolve("mock:partial"))
    assert isinstance(model, MockModel) and model.spec == "mock:partial"
    with pytest.raises(UnknownModelError, match="unknown model 'mock:nothing'"):
        resolve("mock:nothing")


def test_registered_models_are_gone_after_their_test() -> None:
    assert "mock:partial" not in known_specs()


def test_a_spec_of_an_unknown_backend_is_refused() -> None:
    with pytest.raises(UnknownModelError, match="unknown backend 'tpu'"):
        load(ResolvedModel("x", "tpu", "x"))


def test_importing_the_registry_imports_no_heavy_backend() -> None:
    code = (
        "import sys, rest_checks.models.registry, rest_checks.plugin\n"
        "heavy = ('torch', 'transformers', 'openai', 'rapidocr')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_building_a_mock_imports_no_heavy_backend() -> None:
    code = (
        "import sys\n"
        "from rest_checks.models import load, resolve\n"
        "load(resolve('mock:oracle'))\n"
        "heavy = ('torch', 'transformers', 'openai', 'rapidocr')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_reference_model_without_its_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from rest_checks.models.base import ModelLoadError
    from rest_checks.models.registry import load, resolve

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a)
    )
    with pytest.raises(ModelLoadError, match=r"pip install 'rest-checks\[reference\]'"):
        load(resolve("reference"))
