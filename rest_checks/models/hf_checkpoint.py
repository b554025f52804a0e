"""What a local transformers checkpoint says before any weight is loaded, and the model
identity it makes with the settings.

Read once where the model is built, from its config files and the headers of its weights:
the model type, the dtype and placement (``hf_placement``), the pinned pixel budget of the
Qwen families (``pixels``), the stop and padding tokens of its generation config
(``hf_decoding``), how pages are fitted to its vision tower (``hf_images``), and its name
by content for a local directory (``checkpoint_identity``) or its hub commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks.models import (
    checkpoint_files,
    checkpoint_identity,
    hf_images,
    hf_load_errors,
)
from rest_checks.models.base import ModelError
from rest_checks.models.hf_decoding import GREEDY, checkpoint_eos_ids
from rest_checks.models.hf_placement import (
    Placement,
    device_facts,
    device_kind_for,
    resolve_dtype,
    resolve_placement,
)
from rest_checks.models.hf_settings import HFSettings, pixel_budget
from rest_checks.progress import say

# Weight files at least this large are announced while they are hashed (once per change).
HASH_NOTICE_BYTES = 1 << 30


def progress(message: str) -> None:
    """Say what the hf backend is doing: loading a large model takes minutes."""
    say(f"hf: {message}")


def dtype_name(value: Any) -> str | None:
    """A config's ``dtype`` (a torch dtype or its name) as a name: ``"bfloat16"``."""
    if value is None:
        return None
    return str(value).removeprefix("torch.")


def announce_hashing(path: Path, size: int) -> None:
    if size >= HASH_NOTICE_BYTES:
        progress(f"hashing {path.name} ({checkpoint_files.gib(size)}) for the model identity ...")


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint as read before loading (see the module docstring)."""

    name: str
    config: Any
    model_type: str
    dtype: str
    placement: Placement
    weights: checkpoint_files.WeightSummary | None
    pixels: tuple[int, int] | None  # (min_pixels, max_pixels), Qwen families only
    eos_ids: list[int]
    pad_id: int | None
    bos_id: int | None
    image_fit: str
    fingerprint: str | None  # a local directory's content hash
    commit: str | None  # the hub commit the config came from

    @property
    def needed_bytes(self) -> int | None:
        """What the weights take in memory in the chosen dtype, where known."""
        return None if self.weights is None else self.weights.bytes_at(self.dtype)


def checkpoint_dir(name: str, revision: str | None) -> Path | None:
    """The checkpoint's directory: the local path, or the hub cache's snapshot."""
    local = Path(name)
    if local.is_dir():
        return local
    try:
        from huggingface_hub import snapshot_download

        found = snapshot_download(name, revision=revision, local_files_only=True)
    except Exception:  # not in the local cache: the size is unknown
        return None
    return Path(found)


def read_config(name: str, spec: str, settings: HFSettings) -> Any:
    """The checkpoint's ``AutoConfig``; a ``ModelError`` that says what to give instead."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(
            name, revision=settings.revision, trust_remote_code=settings.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        if "trust_remote_code" in str(exc):
            raise hf_load_errors.explain(exc, spec=spec, name=name, stage="the config") from None
        raise ModelError(
            f"model {spec!r}: cannot read the config of {name!r} ({exc}). Give a local "
            "checkpoint directory or a hub name already in the local cache; nothing is "
            "downloaded when HF_HUB_OFFLINE=1."
        ) from exc


def place(
    config: Any,
    weights: checkpoint_files.WeightSummary | None,
    device: str | None,
    dtype: str | None,
    settings: HFSettings,
) -> tuple[str, Placement]:
    """The dtype (the checkpoint's, fitted to the device) and where the weights go
    (``hf_placement``), from the weights' size read off their headers."""
    facts = device_facts()
    saved = dtype_name(getattr(config, "dtype", None) or getattr(config, "torch_dtype", None))
    if saved is None and weights is not None:
        saved = weights.dtype
    chosen = resolve_dtype(dtype, device_kind_for(device, facts), saved, facts)
    placement = resolve_placement(
        device,
        settings.max_memory,
        model_bytes=None if weights is None else weights.bytes_at(chosen),
        dtype=chosen,
        facts=facts,
    )
    if placement.note:
        progress(placement.note)
    return chosen, placement


def read_checkpoint(
    name: str, spec: str, settings: HFSettings, device: str | None, dtype: str | None
) -> Checkpoint:
    """Everything the checkpoint says before loading (see the module docstring)."""
    from transformers import GenerationConfig
    from transformers.image_processing_base import ImageProcessingMixin

    config = read_config(name, spec, settings)
    model_type = str(getattr(config, "model_type", "unknown"))
    directory = checkpoint_dir(name, settings.revision)
    weights = None if directory is None else checkpoint_files.summary(directory)
    chosen_dtype, placement = place(config, weights, device, dtype, settings)
    pixels = pixel_budget(spec, model_type, settings)
    try:
        generation = GenerationConfig.from_pretrained(name, revision=settings.revision or "main")
    except OSError:
        generation = GenerationConfig.from_model_config(config)
    try:
        processor_config, _ = ImageProcessingMixin.get_image_processor_dict(
            name, revision=settings.revision or "main"
        )
    except (OSError, ValueError):
        processor_config = {}
    vision = getattr(config, "vision_config", None)
    return Checkpoint(
        name=name,
        config=config,
        model_type=model_type,
        dtype=chosen_dtype,
        placement=placement,
        weights=weights,
        pixels=pixels,
        # Only the stop and padding tokens are taken from the checkpoint's generation config.
        eos_ids=checkpoint_eos_ids(generation, config),
        pad_id=generation.pad_token_id,
        bos_id=generation.bos_token_id,
        image_fit=hf_images.image_fit(
            model_type, processor_config, getattr(vision, "model_type", None)
        ),
        fingerprint=content_fingerprint(name, spec),
        commit=getattr(config, "_commit_hash", None),
    )


def content_fingerprint(name: str, spec: str) -> str | None:
    """A local checkpoint's name by content (weights, config, tokenizer, processor and
    chat template); ``None`` for a hub name."""
    local = Path(name)
    try:
        return (
            checkpoint_identity.content_fingerprint(local, announce=announce_hashing)
            if local.is_dir()
            else None
        )
    except OSError as exc:
        raise ModelError(
            f"model {spec!r}: cannot read the checkpoint's files to name it by content: {exc}"
        ) from None


def model_identity(
    checkpoint: Checkpoint, settings: HFSettings, batch_size: int, probe: bool
) -> dict[str, Any]:
    """Everything that can change an answer: the checkpoint by content or commit, the
    dtype and placement kind, the batch size, the image fitting and pixel budget, the
    decoding and its stop tokens, the answer cap, the attention and opt-ins."""
    if checkpoint.fingerprint is not None:
        # A local directory: its name and its content's hash, not the machine's path.
        name = Path(checkpoint.name).resolve().name
        revision: str | None = f"local:{checkpoint.fingerprint}"
    else:
        name = checkpoint.name
        revision = checkpoint.commit or settings.revision
    cap = settings.max_new_tokens_cap
    min_pixels, max_pixels = checkpoint.pixels or (None, None)
    identity: dict[str, Any] = {
        "backend": "hf",
        "name": name,
        "revision": revision,
        "dtype": checkpoint.dtype,
        "device": checkpoint.placement.device_kind,
        "device_map": checkpoint.placement.device_map,
        "batch_size": batch_size,
        "min_pixels": min_pixels,
        "max_pixels": max_pixels,
        "image_fit": checkpoint.image_fit,
        "decoding": "greedy",
        "repetition_penalty": GREEDY["repetition_penalty"],
        "eos_token_ids": checkpoint.eos_ids,
        "max_new_tokens": "request" if cap is None else f"min(request, {cap})",
        "attn_implementation": settings.attn_implementation,
    }
    if settings.fast_path:
        identity["fast_path"] = "static-cache"
    if settings.trust_remote_code:
        identity["trust_remote_code"] = True  # the checkpoint's own code answers
    if probe:
        # Probe values live in the cached responses: a probing run must not be served
        # answers cached without them.
        identity["probe"] = True
    return identity
