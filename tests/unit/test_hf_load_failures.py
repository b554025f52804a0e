"""A local model that cannot load stops the run once, before any case, with one message:
what failed, the file and the fix; later calls raise the same error without loading again."""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rest_checks.items.soebench import generate_soebench  # noqa: E402
from rest_checks.models import checkpoint_files, hf_load_errors  # noqa: E402
from rest_checks.models.base import ModelLoadError, ModelUnusableError  # noqa: E402
from rest_checks.models.hf import HFModel  # noqa: E402
from rest_checks.prompts import build_requests  # noqa: E402
from rest_checks.render.specs import RenderSpec  # noqa: E402
from tests.tiny_models.qwen2_vl import build_tiny_qwen2_vl  # noqa: E402
from tests.unit.suite_runs import make_suite, run_suite  # noqa: E402

SETTINGS = {"min_pixels": 4 * 28 * 28, "max_pixels": 64 * 28 * 28, "max_new_tokens": 2}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def checkpoint(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the tiny checkpoint each test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "ckpt"))


def hf(path: Path) -> HFModel:
    return HFModel(str(path), spec="hf:ckpt", device="cpu", settings=dict(SETTINGS))


def truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def test_truncated_weights_name_the_file_and_are_said_once(checkpoint: Path) -> None:
    weights = checkpoint / "model.safetensors"
    truncate(weights, weights.stat().st_size // 2)
    model = hf(checkpoint)
    with pytest.raises(ModelLoadError) as first:
        model.load()
    message = str(first.value)
    assert "cannot load the weights" in message and str(weights) in message
    assert "truncated" in message and "copy or download the checkpoint again" in message
    assert isinstance(first.value, ModelUnusableError)
    # Nothing is loaded again: the same error, at once, and generate() says it too.
    with pytest.raises(ModelLoadError) as second:
        model.load()
    assert second.value is first.value
    request = build_requests(generate_soebench(1, seed=1)[0], RenderSpec(dpi=50))["text"]
    with pytest.raises(ModelLoadError):
        model.generate([request])


def test_a_file_that_is_not_safetensors_is_named(checkpoint: Path) -> None:
    (checkpoint / "model.safetensors").write_bytes(b"<html>rate limited</html>" * 10)
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: not a safetensors file"):
        hf(checkpoint).load()


def test_a_missing_shard_is_named(checkpoint: Path) -> None:
    weights = checkpoint / "model.safetensors"
    weights.rename(checkpoint / "model-00001-of-00002.safetensors")
    index = {
        "metadata": {},
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        },
    }
    (checkpoint / checkpoint_files.INDEX_NAME).write_text(json.dumps(index))
    problems = checkpoint_files.problems(checkpoint)
    assert problems == [
        f"{checkpoint / 'model-00002-of-00002.safetensors'}: missing (named by "
        f"{checkpoint_files.INDEX_NAME})"
    ]
    with pytest.raises(ModelLoadError, match=r"model-00002-of-00002\.safetensors: missing"):
        hf(checkpoint).load()


def test_no_chat_template_says_which_files_and_the_fix(checkpoint: Path) -> None:
    (checkpoint / "chat_template.jinja").unlink()
    with pytest.raises(ModelLoadError, match=r"has no chat template.*chat_template\.jinja"):
        hf(checkpoint).load()


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (
            ImportError("Idefics3Processor requires the num2words library but it was not found"),
            "pip install num2words",
        ),
        (
            ModuleNotFoundError("No module named 'torchvision'", name="torchvision"),
            "pip install torchvision",
        ),
        (
            ModuleNotFoundError("No module named 'some_lib'", name="some_lib"),
            "pip install some_lib",
        ),
    ],
)
def test_a_missing_package_gives_the_install_line(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch, error: ImportError, fix: str
) -> None:
    import transformers

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", refuse)
    with pytest.raises(ModelLoadError, match="cannot load the processor") as caught:
        hf(checkpoint).load()
    assert str(caught.value).endswith(f"Fix: {fix}")


def test_out_of_memory_says_the_size_needed(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    def oom(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", oom)
    summary = checkpoint_files.summary(checkpoint)
    assert summary is not None and summary.dtype == "float32"
    with pytest.raises(ModelLoadError) as caught:
        hf(checkpoint).load()
    message = str(caught.value)
    assert "out of memory" in message
    assert f"need about {checkpoint_files.gib(summary.n_params * 4)} in float32" in message
    assert "--rest-dtype bfloat16" in message


def test_torch_missing_is_a_model_error_with_the_install_line(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelLoadError, match=r"'torch'.*Fix: pip install torch"):
        hf(checkpoint)


def test_remote_code_without_the_setting_says_how_to_allow_it() -> None:
    error = ValueError("The repository contains custom code; pass trust_remote_code=True")
    message = str(hf_load_errors.explain(error, spec="hf:x", name="x", stage="the config"))
    assert "trust_remote_code = true" in message and "rest_models.toml" in message


def test_summary_counts_parameters_from_the_headers(tmp_path: Path) -> None:
    header = {
        "a": {"dtype": "BF16", "shape": [3, 4], "data_offsets": [0, 24]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]},
    }
    raw = json.dumps(header).encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(32))
    summary = checkpoint_files.summary(tmp_path)
    assert summary == checkpoint_files.WeightSummary(14, 32, "bfloat16")
    assert summary.bytes_at("float32") == 56
    assert checkpoint_files.problems(tmp_path) == []
    truncate(tmp_path / "model.safetensors", 8 + len(raw) + 28)
    assert "tensor 'b' ends at byte 32" in checkpoint_files.problems(tmp_path)[0]
    assert checkpoint_files.summary(tmp_path) is None


def test_the_suite_stops_once_before_any_case(checkpoint: Path, pytester: pytest.Pytester) -> None:
    weights = checkpoint / "model.safetensors"
    truncate(weights, 1000)
    make_suite(pytester)
    (pytester.path / "rest_models.toml").write_text(
        f'[models.broken]\nbackend = "hf"\nname = "{checkpoint}"\nmax_new_tokens = 2\n',
        encoding="utf-8",
    )
    result = run_suite(
        pytester, "--model", "broken", "--rest-suite", "arith", "--rest-n", "3",
        "--rest-device", "cpu", "--rest-json", "out.json",
    )  # fmt: skip
    out = result.stdout.str() + result.stderr.str()
    assert result.ret != 0
    assert out.count("loading weights of") == 1  # loaded once, not once per case
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) == 1 and "passed" not in outcomes and "failed" not in outcomes
    assert "Interrupted: rest-checks: model" in out  # the rest never ran
    assert f"rest-checks: model 'broken': cannot load the weights of {checkpoint}" in out
    assert len(out.splitlines()) < 80, out  # one message, not a traceback per case
