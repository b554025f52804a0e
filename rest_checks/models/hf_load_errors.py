"""Why a local transformers model cannot load, said once: what failed, the file, the fix.

A model that cannot load fails every request the same way, so the backend turns the
failure into one ``ModelLoadError`` (which stops the run before any case, see
``models.base``) instead of a traceback per case. The causes recognised here:

- a Python package the model's code needs (torch, torchvision, num2words, accelerate,
  timm, einops, ...): the ``pip install`` line;
- weight files missing or damaged (``checkpoint_files.problems`` names each one);
- remote code a checkpoint needs without ``trust_remote_code = true``;
- out of memory, with the memory the weights need in the chosen dtype;
- a processor without a chat template (``no_chat_template``).

Anything else is quoted in one line, with its type.
"""

from __future__ import annotations

import re
from pathlib import Path

from rest_checks.models import checkpoint_files
from rest_checks.models.base import ModelLoadError

#: Packages transformers names in its "requires the X library" errors -> what to install.
INSTALL = {
    "torch": "pip install torch",
    "torchvision": "pip install torchvision",
    "num2words": "pip install num2words",
    "accelerate": "pip install accelerate",
    "timm": "pip install timm",
    "einops": "pip install einops",
    "sentencepiece": "pip install sentencepiece",
    "protobuf": "pip install protobuf",
    "tiktoken": "pip install tiktoken",
    "flash_attn": 'pip install flash-attn (or set attn_implementation = "sdpa")',
    "transformers": "pip install 'rest-checks[hf]'",
}
MAX_QUOTE = 400
# "CUDA out of memory", "DefaultCPUAllocator: can't allocate memory", torch.OutOfMemoryError.
OUT_OF_MEMORY = re.compile(r"out of memory|can't allocate memory|OutOfMemory", re.IGNORECASE)


def one_line(exc: BaseException) -> str:
    """The exception's type and message on one line, cut to a readable length."""
    text = " ".join(str(exc).split())
    if len(text) > MAX_QUOTE:
        text = text[:MAX_QUOTE] + " ..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def missing_package(exc: BaseException) -> str | None:
    """The package an ``ImportError`` says is missing, when it names one we know."""
    name = getattr(exc, "name", None)
    if isinstance(name, str) and name.split(".")[0] in INSTALL:
        return name.split(".")[0]
    text = str(exc)
    for package in INSTALL:
        if re.search(rf"\b{re.escape(package)}\b", text):
            return package
    if isinstance(name, str) and name:
        return name.split(".")[0]
    return None


def install_hint(package: str) -> str:
    return INSTALL.get(package, f"pip install {package}")


def explain(
    exc: BaseException,
    *,
    spec: str,
    name: str,
    stage: str,
    needed_bytes: int | None = None,
    dtype: str = "",
) -> ModelLoadError:
    """The one message for a failure while loading ``stage`` ("the processor", "the
    weights") of model ``spec`` from ``name`` (a hub name or a local directory)."""
    head = f"model {spec!r}: cannot load {stage} of {name}"
    if isinstance(exc, ImportError):
        package = missing_package(exc)
        if package is not None:
            return ModelLoadError(
                f"{head}: it needs the Python package {package!r}, which is not installed "
                f"({one_line(exc)}). Fix: {install_hint(package)}"
            )
    if "trust_remote_code" in str(exc):
        return ModelLoadError(
            f"{head}: the checkpoint ships its own Python code, which runs only when asked "
            "for. Fix, if you trust it: define the model in rest_models.toml with "
            "trust_remote_code = true"
        )
    if OUT_OF_MEMORY.search(f"{type(exc).__name__} {exc}"):
        need = (
            f"; its weights need about {checkpoint_files.gib(needed_bytes)} in {dtype}"
            if needed_bytes
            else ""
        )
        return ModelLoadError(
            f"{head}: out of memory{need} ({one_line(exc)}). Fix: a smaller dtype "
            "(--rest-dtype bfloat16), another device (--rest-device), or max_memory with "
            "--rest-device auto to offload part of it"
        )
    local = Path(name)
    if local.is_dir():
        damaged = checkpoint_files.problems(local)
        if damaged:
            return ModelLoadError(
                f"{head}: weight files missing or damaged: {'; '.join(damaged)}. Fix: copy "
                "or download the checkpoint again"
            )
    return ModelLoadError(f"{head}: {one_line(exc)}")


def no_chat_template(spec: str, name: str) -> ModelLoadError:
    """A processor (and tokenizer) without a chat template: prompts cannot be built."""
    return ModelLoadError(
        f"model {spec!r}: the processor of {name} has no chat template, so no prompt can be "
        "built (transformers reads it from chat_template.jinja, chat_template.json or "
        "tokenizer_config.json's chat_template). Fix: use the instruction-tuned checkpoint, "
        "or copy its chat_template.jinja into the checkpoint directory"
    )
