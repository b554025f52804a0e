"""Where the weights of a transformers model go (``--rest-device``).

- ``cpu``: everything on the CPU.
- ``cuda``, ``cuda:N``: everything on one GPU, loaded straight there (no copy staged in CPU
  memory) when accelerate is installed.
- ``auto`` (the default): with GPUs visible, accelerate's ``device_map="auto"`` spreads the
  layers over all of them (and over CPU memory, then disk, only if they do not fit), so a
  model larger than one card runs; without a GPU, the CPU. A ``max_memory`` setting (bytes
  or strings such as ``"70GiB"`` per device, as accelerate takes them) bounds each device,
  and also makes ``auto`` spread over CPU memory and disk on a machine without a GPU.

torch is imported inside the functions.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_checks.models.base import ModelError


@dataclass(frozen=True)
class Placement:
    """A resolved ``--rest-device``: the main device and, for ``auto``, the device map kind."""

    device: str  # "cpu", "cuda" or "cuda:N"; with a device map, where the inputs start
    device_map: str | None = None  # "auto" or None (one device)

    @property
    def device_kind(self) -> str:
        """``"cpu"`` or ``"cuda"``: the identity names the kind, not the card's index."""
        return "cpu" if self.device == "cpu" else "cuda"


def resolve_placement(device: str | None, max_memory: Mapping[str, Any] | None = None) -> Placement:
    """``--rest-device`` (and the ``max_memory`` setting) -> a ``Placement``."""
    import torch

    choice = (device or "auto").strip().lower()
    has_cuda = torch.cuda.is_available()
    if choice == "auto":
        if has_cuda:
            return Placement("cuda", "auto")
        return Placement("cpu", "auto" if max_memory else None)
    if max_memory:
        raise ModelError(
            f"max_memory applies to --rest-device auto only, not to {device!r}: it bounds "
            "what device_map='auto' puts on each device"
        )
    if choice == "cpu":
        return Placement("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        if not has_cuda:
            raise ModelError(f"device {device!r} was asked for, but torch sees no CUDA GPU")
        return Placement(choice)
    raise ModelError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")


def has_accelerate() -> bool:
    return importlib.util.find_spec("accelerate") is not None


def load_kwargs(
    placement: Placement, max_memory: Mapping[str, Any] | None, offload_dir: str
) -> dict[str, Any]:
    """The ``from_pretrained`` arguments that place the weights; ``{}`` means: load on the
    CPU, then move the model with ``.to(placement.device)``."""
    if placement.device_map == "auto":
        if not has_accelerate():
            raise ModelError(
                "--rest-device auto spreads the model with accelerate's device_map='auto'; "
                "install it (pip install -e '.[hf]' or pip install accelerate), or give "
                "--rest-device cuda or cpu"
            )
        kwargs: dict[str, Any] = {"device_map": "auto", "offload_folder": offload_dir}
        if max_memory:
            kwargs["max_memory"] = {_device_key(k): v for k, v in max_memory.items()}
        return kwargs
    if placement.device != "cpu" and has_accelerate():
        device = "cuda:0" if placement.device == "cuda" else placement.device
        return {"device_map": {"": device}}
    return {}


def _device_key(key: Any) -> int | str:
    # TOML keys are strings: "0" means GPU 0, as accelerate's integer keys do.
    text = str(key).strip()
    return int(text) if text.isdigit() else text


def input_device(model: Any, placement: Placement) -> Any:
    """Where the inputs go: the device of the input embeddings (the CPU when they are
    offloaded); accelerate's hooks move activations between the devices after that."""
    if placement.device_map is None:
        return placement.device
    weight = model.get_input_embeddings().weight
    return "cpu" if weight.device.type == "meta" else weight.device


def device_map_summary(model: Any) -> str:
    """``"cpu x3, disk x4"``: how many modules accelerate put on each device."""
    counts: dict[str, int] = {}
    for where in getattr(model, "hf_device_map", {}).values():
        name = f"cuda:{where}" if isinstance(where, int) else str(where)
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{name} x{n}" for name, n in counts.items()) or "one device"
