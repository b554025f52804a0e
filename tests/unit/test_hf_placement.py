"""``--rest-device`` -> where a transformers model's weights go (no model is loaded here)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from rest_checks.models.base import ModelError  # noqa: E402
from rest_checks.models.hf_placement import (  # noqa: E402
    GPU_FILL,
    DeviceFacts,
    Placement,
    device_kind_for,
    load_kwargs,
    resolve_dtype,
    resolve_placement,
)

GiB = 2**30
ONE_GPU = DeviceFacts(gpu_bytes=(80 * GiB,), gpu_bf16=True, cpu_available=64 * GiB)
FOUR_GPUS = DeviceFacts(gpu_bytes=(24 * GiB,) * 4, gpu_bf16=True, cpu_available=64 * GiB)
NO_GPU = DeviceFacts(gpu_bytes=(), cpu_available=16 * GiB)
OLD_GPU = DeviceFacts(gpu_bytes=(16 * GiB,), gpu_bf16=False, cpu_available=64 * GiB)


def test_auto_puts_a_model_that_fits_on_one_gpu() -> None:
    # A 2B model in bf16 (4.4 GiB) on four 24 GiB GPUs: GPU 0 alone, no pipeline.
    placement = resolve_placement("auto", model_bytes=int(4.4 * GiB), facts=FOUR_GPUS)
    assert placement == Placement("cuda")
    assert placement.device_kind == "cuda" and placement.note is None
    assert load_kwargs(placement, None, "") in ({"device_map": {"": "cuda:0"}}, {})
    # Size unknown (no safetensors headers): one GPU too.
    assert resolve_placement(None, facts=FOUR_GPUS) == Placement("cuda")
    assert resolve_placement("cuda:1", facts=FOUR_GPUS) == Placement("cuda:1")


def test_auto_spreads_only_what_does_not_fit() -> None:
    # 72B in bf16 (about 135 GiB): more than one GPU, spread.
    placement = resolve_placement("auto", model_bytes=135 * GiB, facts=FOUR_GPUS)
    assert placement == Placement("cuda", "auto")
    assert placement.note is not None and "spread over 4 GPU(s)" in placement.note
    # The edge: room is kept for activations.
    edge = int(GPU_FILL * 24 * GiB)
    assert resolve_placement("auto", model_bytes=edge, facts=FOUR_GPUS).device_map is None
    assert resolve_placement("auto", model_bytes=edge + 1, facts=FOUR_GPUS).device_map == "auto"
    # max_memory always spreads, as asked.
    bounded = resolve_placement("auto", {"0": "10GiB"}, model_bytes=GiB, facts=ONE_GPU)
    assert bounded == Placement("cuda", "auto")


def test_cpu_fallback_warns_with_memory_and_time() -> None:
    placement = resolve_placement("auto", model_bytes=8 * GiB, dtype="float32", facts=NO_GPU)
    assert placement == Placement("cpu")
    note = placement.note or ""
    assert "no usable CUDA GPU" in note and "8.0 GiB in float32" in note
    assert "16.0 GiB of memory available" in note and "s per new token" in note


def test_cpu_fallback_refuses_a_model_larger_than_memory_unless_asked() -> None:
    with pytest.raises(ModelError, match=r"28\.0 GiB in float32, more than the 16\.0 GiB"):
        resolve_placement("auto", model_bytes=28 * GiB, dtype="float32", facts=NO_GPU)
    asked = resolve_placement("cpu", model_bytes=28 * GiB, dtype="float32", facts=NO_GPU)
    assert asked == Placement("cpu") and "MORE THAN THE MEMORY" in (asked.note or "")
    assert resolve_placement("cpu", model_bytes=GiB, facts=NO_GPU).note is None
    # Offloading to disk stays possible with max_memory.
    assert resolve_placement(
        "auto", {"cpu": "1GB"}, model_bytes=28 * GiB, facts=NO_GPU
    ) == Placement("cpu", "auto")


def test_bad_devices_are_model_errors() -> None:
    with pytest.raises(ModelError, match="torch sees no CUDA GPU"):
        resolve_placement("cuda", facts=NO_GPU)
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        resolve_placement("tpu", facts=ONE_GPU)
    with pytest.raises(ModelError, match="max_memory applies to --rest-device auto only"):
        resolve_placement("cuda", {"0": "1GiB"}, facts=ONE_GPU)


@pytest.mark.parametrize(
    ("asked", "device", "saved", "facts", "expected"),
    [
        ("auto", "auto", "bfloat16", ONE_GPU, "bfloat16"),
        ("auto", "auto", "float16", ONE_GPU, "float16"),
        ("auto", "auto", "float32", ONE_GPU, "float32"),
        ("auto", "auto", None, ONE_GPU, "bfloat16"),
        ("auto", "auto", "bfloat16", OLD_GPU, "float16"),  # no bf16 before Ampere
        ("auto", "cuda", None, OLD_GPU, "float16"),
        ("auto", "auto", "bfloat16", NO_GPU, "float32"),  # the CPU fallback
        ("auto", "cpu", "bfloat16", ONE_GPU, "float32"),
        (None, "auto", "float16", ONE_GPU, "float16"),
        ("bfloat16", "cpu", "float32", NO_GPU, "bfloat16"),  # asked for: kept
    ],
)
def test_dtype_auto_follows_the_checkpoint_and_the_device(
    asked: str | None, device: str, saved: str | None, facts: DeviceFacts, expected: str
) -> None:
    kind = device_kind_for(device, facts)
    assert resolve_dtype(asked, kind, saved, facts) == expected


def test_unknown_dtype_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="unknown dtype 'float8'"):
        resolve_dtype("float8", "cpu", None, NO_GPU)


def test_auto_loads_with_accelerates_device_map() -> None:
    pytest.importorskip("accelerate")
    kwargs = load_kwargs(Placement("cuda", "auto"), {"0": "70GiB", "cpu": "100GiB"}, "/tmp/x")
    # TOML keys are strings; accelerate wants GPU indices as integers.
    assert kwargs == {
        "device_map": "auto",
        "offload_folder": "/tmp/x",
        "max_memory": {0: "70GiB", "cpu": "100GiB"},
    }


def test_one_gpu_loads_straight_onto_it_and_the_cpu_plainly() -> None:
    pytest.importorskip("accelerate")
    assert load_kwargs(Placement("cuda"), None, "") == {"device_map": {"": "cuda:0"}}
    assert load_kwargs(Placement("cuda:1"), None, "") == {"device_map": {"": "cuda:1"}}
    assert load_kwargs(Placement("cpu"), None, "") == {}


def test_auto_without_accelerate_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_checks.models import hf_placement

    monkeypatch.setattr(hf_placement, "has_accelerate", lambda: False)
    with pytest.raises(ModelError, match="pip install accelerate"):
        load_kwargs(Placement("cuda", "auto"), None, "/tmp/x")
    assert load_kwargs(Placement("cuda:1"), None, "") == {}  # then .to(device) after loading
