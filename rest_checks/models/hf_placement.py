"""Where the weights of a transformers model go (``--rest-device``), and in which dtype.

- ``cpu``: everything on the CPU, whatever its size (a warning when it exceeds the memory).
- ``cuda``, ``cuda:N``: everything on one GPU, loaded straight there (no copy staged in CPU
  memory) when accelerate is installed.
- ``auto`` (the default): with GPUs visible, a model whose weights fit on GPU 0 (with room
  for activations, ``GPU_FILL``) goes there whole (``{"": 0}``): spreading a small model
  over every GPU only makes a slow serial pipeline. A model that does not fit is spread with
  accelerate's ``device_map="auto"`` over the GPUs (then CPU memory and disk). Without a
  usable GPU, the CPU, with a warning that says the memory and a rough time per token; a
  model larger than the available memory is refused there unless ``--rest-device cpu``
  asks for the CPU explicitly. A ``max_memory`` setting (bytes or strings such as
  ``"70GiB"`` per device, as accelerate takes them) bounds each device and always spreads.
- dtype ``auto``: float32 on the CPU; on a GPU the checkpoint's own dtype, except that
  bfloat16 becomes float16 on a GPU without bfloat16 (before Ampere).

The decisions (``resolve_placement``, ``resolve_dtype``) are pure functions of
``DeviceFacts``, which ``device_facts`` reads from torch and ``/proc/meminfo``; torch is
imported inside the functions.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_checks.models.base import ModelError
from rest_checks.models.checkpoint_files import gib

DTYPES = ("auto", "float32", "bfloat16", "float16")
#: The share of a GPU's memory the weights may take when ``auto`` puts a model on one GPU;
#: the rest is for activations and the KV cache.
GPU_FILL = 0.85
#: Rough CPU memory bandwidth for the time estimate of a CPU fallback (bytes/s): decoding
#: reads every weight once per token.
CPU_BYTES_PER_SECOND = 20e9


@dataclass(frozen=True)
class DeviceFacts:
    """What the machine offers: each visible GPU's memory, whether they do bfloat16, and
    the CPU memory available (``None`` where unknown)."""

    gpu_bytes: tuple[int, ...] = ()
    gpu_bf16: bool = True
    cpu_available: int | None = None


@dataclass(frozen=True)
class Placement:
    """A resolved ``--rest-device``: the main device and, for ``auto``, the device map kind."""

    device: str  # "cpu", "cuda" or "cuda:N"; with a device map, where the inputs start
    device_map: str | None = None  # "auto" or None (one device)
    # What the user should know about the choice (a CPU fallback, a spread model).
    note: str | None = field(default=None, compare=False)

    @property
    def device_kind(self) -> str:
        """``"cpu"`` or ``"cuda"``: the identity names the kind, not the card's index."""
        return "cpu" if self.device == "cpu" else "cuda"


def device_facts() -> DeviceFacts:
    """The facts of this machine (torch's view of the GPUs, ``/proc/meminfo``)."""
    import torch

    gpus: tuple[int, ...] = ()
    bf16 = True
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        gpus = tuple(int(torch.cuda.get_device_properties(i).total_memory) for i in range(count))
        bf16 = bool(torch.cuda.is_bf16_supported())
    return DeviceFacts(gpus, bf16, available_memory())


def available_memory() -> int | None:
    """Bytes of memory the system can give without swapping (``MemAvailable``)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def device_kind_for(device: str | None, facts: DeviceFacts) -> str:
    """``"cuda"`` or ``"cpu"``: where ``--rest-device`` will put the weights."""
    choice = (device or "auto").strip().lower()
    if choice == "cpu" or (choice == "auto" and not facts.gpu_bytes):
        return "cpu"
    return "cuda"


def resolve_dtype(
    dtype: str | None, device_kind: str, checkpoint_dtype: str | None, facts: DeviceFacts
) -> str:
    """``--rest-dtype`` -> a torch dtype name; ``auto`` follows the checkpoint and device."""
    choice = (dtype or "auto").strip().lower()
    if choice not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    if choice != "auto":
        return choice
    if device_kind == "cpu":
        return "float32"  # half precision on the CPU is slow, and not every op has it
    wanted = checkpoint_dtype if checkpoint_dtype in DTYPES[1:] else "bfloat16"
    if wanted == "bfloat16" and not facts.gpu_bf16:
        return "float16"
    return str(wanted)


def resolve_placement(
    device: str | None,
    max_memory: Mapping[str, Any] | None = None,
    *,
    model_bytes: int | None = None,
    dtype: str = "float32",
    facts: DeviceFacts | None = None,
) -> Placement:
    """``--rest-device`` (and the ``max_memory`` setting) -> a ``Placement``, for weights
    of ``model_bytes`` in ``dtype`` (``None``: size unknown) on a machine of ``facts``."""
    facts = facts if facts is not None else device_facts()
    choice = (device or "auto").strip().lower()
    has_cuda = bool(facts.gpu_bytes)
    if choice == "auto":
        if max_memory:
            return Placement("cuda" if has_cuda else "cpu", "auto")
        if has_cuda:
            return _auto_on_gpus(model_bytes, facts)
        return _cpu_fallback(model_bytes, dtype, facts, explicit=False)
    if max_memory:
        raise ModelError(
            f"max_memory applies to --rest-device auto only, not to {device!r}: it bounds "
            "what device_map='auto' puts on each device"
        )
    if choice == "cpu":
        return _cpu_fallback(model_bytes, dtype, facts, explicit=True)
    if choice == "cuda" or choice.startswith("cuda:"):
        if not has_cuda:
            raise ModelError(f"device {device!r} was asked for, but torch sees no CUDA GPU")
        return Placement(choice)
    raise ModelError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")


def _auto_on_gpus(model_bytes: int | None, facts: DeviceFacts) -> Placement:
    first = facts.gpu_bytes[0]
    if model_bytes is None or model_bytes <= GPU_FILL * first:
        return Placement("cuda")  # {"": 0}: one GPU, no pipeline
    return Placement(
        "cuda",
        "auto",
        note=(
            f"the weights need about {gib(model_bytes)}, more than "
            f"{GPU_FILL:.0%} of GPU 0's {gib(first)}: spread over {len(facts.gpu_bytes)} "
            "GPU(s) with device_map='auto' (then CPU memory and disk if needed)"
        ),
    )


def _cpu_fallback(
    model_bytes: int | None, dtype: str, facts: DeviceFacts, *, explicit: bool
) -> Placement:
    if model_bytes is None:
        size = "of unknown size"
        speed = ""
    else:
        size = f"about {gib(model_bytes)} in {dtype}"
        speed = f"; expect roughly {model_bytes / CPU_BYTES_PER_SECOND:.1f} s per new token"
    free = facts.cpu_available
    room = "" if free is None else f" ({gib(free)} of memory available)"
    too_large = model_bytes is not None and free is not None and model_bytes > free
    if too_large and not explicit:
        raise ModelError(
            f"no usable CUDA GPU, and on the CPU the weights need {size}, more than the "
            f"{gib(free or 0)} of memory available: refused. Give --rest-device cpu to "
            "try anyway, or max_memory (with --rest-device auto) to offload to disk"
        )
    if explicit and not too_large:
        return Placement("cpu")
    why = "on the CPU as asked" if explicit else "no usable CUDA GPU: running on the CPU"
    warning = " - MORE THAN THE MEMORY AVAILABLE" if too_large else ""
    return Placement("cpu", note=f"{why}, weights {size}{room}{warning}{speed}")


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
