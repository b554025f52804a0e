"""``--rest-device`` -> where a transformers model's weights go (no model is loaded here)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from rest_checks.models.base import ModelError  # noqa: E402
from rest_checks.models.hf_placement import (  # noqa: E402
    Placement,
    load_kwargs,
    resolve_placement,
)


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_spreads_over_the_gpus_when_there_are_some(gpus: None) -> None:
    placement = resolve_placement("auto")
    assert placement == Placement("cuda", "auto")
    assert placement.device_kind == "cuda"
    assert resolve_placement(None) == placement
    assert resolve_placement("cuda:1") == Placement("cuda:1")


def test_auto_is_the_cpu_without_a_gpu_unless_memory_is_bounded(no_gpu: None) -> None:
    assert resolve_placement("auto") == Placement("cpu")
    assert resolve_placement("auto", {"cpu": "1GB"}) == Placement("cpu", "auto")
    with pytest.raises(ModelError, match="torch sees no CUDA GPU"):
        resolve_placement("cuda")
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        resolve_placement("tpu")


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
