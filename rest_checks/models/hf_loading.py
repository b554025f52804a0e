"""Loading a transformers checkpoint: its processor (checked to keep every page whole) and
its weights, where ``hf_placement`` put them, with greedy decoding as their only
generation config.

Every failure becomes one ``ModelLoadError`` naming the file and the fix
(``hf_load_errors``). What loading puts in memory lives in one ``Loaded`` that the
preprocessing, generation and probe share, so releasing it (``release``) frees it for all.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import Any

from rest_checks.models import hf_images, hf_load_errors
from rest_checks.models.base import ModelError, ModelLoadError
from rest_checks.models.hf_checkpoint import Checkpoint, progress
from rest_checks.models.hf_decoding import greedy_config, token_ids
from rest_checks.models.hf_placement import device_map_summary, input_device, load_kwargs
from rest_checks.models.hf_settings import HFSettings
from rest_checks.models.pixels import BUDGET_AS_SIZE


@dataclass
class Loaded:
    """What a loaded model holds in memory; ``model`` is ``None`` until it is loaded."""

    input_device: Any  # where inputs go (the first device of a spread model)
    model: Any = None
    processor: Any = None
    image_token_id: int | None = None
    generation: Any = None  # the greedy GenerationConfig
    # The colour pages are padded with to a square (the image processor's mean).
    pad_colour: tuple[int, int, int] = (128, 128, 128)
    offload_dir: tempfile.TemporaryDirectory[str] | None = None


class Loader:
    """Loads one checkpoint into a ``Loaded`` (see the module docstring)."""

    def __init__(self, spec: str, checkpoint: Checkpoint, settings: HFSettings) -> None:
        self.spec = spec
        self.checkpoint = checkpoint
        self.settings = settings

    @property
    def name(self) -> str:
        return self.checkpoint.name

    def load_into(self, loaded: Loaded) -> None:
        """Load the processor, then the weights; ``loaded`` holds them once both are in."""
        started = time.monotonic()
        processor = self.load_processor(loaded)
        model = self.load_weights(loaded)
        loaded.generation = self.generation_config(processor.tokenizer)
        # generate() fills what it is not given from the model's own generation config:
        # replace it, so nothing of the checkpoint's (penalty, top-k, ...) can come back.
        model.generation_config = loaded.generation
        loaded.processor = processor
        loaded.model = model
        loaded.input_device = input_device(model, self.checkpoint.placement)
        loaded.image_token_id = find_image_token_id(model, processor)
        n_params = sum(p.numel() for p in model.parameters())
        spread = self.checkpoint.placement.device_map is not None
        placement = f", {device_map_summary(model)}" if spread else ""
        progress(
            f"loaded {self.name} ({n_params / 1e6:.1f} M parameters{placement}) "
            f"in {time.monotonic() - started:.1f} s"
        )

    def failed(self, exc: BaseException, stage: str) -> ModelLoadError:
        return hf_load_errors.explain(
            exc,
            spec=self.spec,
            name=self.name,
            stage=stage,
            needed_bytes=self.checkpoint.needed_bytes,
            dtype=self.checkpoint.dtype,
        )

    def load_processor(self, loaded: Loaded) -> Any:
        """The processor, its image processor set to keep every page whole, its tokenizer
        padding on the left; refused without a chat template."""
        from transformers import AutoImageProcessor, AutoProcessor

        progress(f"loading processor of {self.name} ...")
        remote: dict[str, Any] = {"trust_remote_code": self.settings.trust_remote_code}
        revision = self.settings.revision
        try:
            # The image processor is loaded on its own, with the settings that fit a page
            # whole, and handed to the processor: keyword arguments beat a published
            # preprocessor_config.json's top-level min_pixels/max_pixels (which would
            # override a ``size`` argument), and are not kept as per-call arguments.
            image_processor = AutoImageProcessor.from_pretrained(
                self.name, revision=revision, **remote, **self.image_processor_kwargs()
            )
            processor = AutoProcessor.from_pretrained(
                self.name, revision=revision, image_processor=image_processor, **remote
            )
        except Exception as exc:  # every cause becomes one clear message
            raise self.failed(exc, "the processor") from exc
        self.check_image_processor(processor.image_processor, loaded)
        tokenizer = processor.tokenizer
        if not (
            getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)
        ):
            raise hf_load_errors.no_chat_template(self.spec, self.name)
        tokenizer.padding_side = "left"  # decoder-only generation continues from the right
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return processor

    def load_weights(self, loaded: Loaded) -> Any:
        """The model in eval mode, in the chosen dtype, where the placement puts it."""
        import torch
        from transformers import AutoModelForImageTextToText

        placement, dtype = self.checkpoint.placement, self.checkpoint.dtype
        where = placement.device if placement.device_map is None else "device_map=auto"
        progress(f"loading weights of {self.name} on {where} in {dtype} ...")
        model_kwargs: dict[str, Any] = {
            "dtype": getattr(torch, dtype),
            "revision": self.settings.revision,
            "trust_remote_code": self.settings.trust_remote_code,
        }
        if self.settings.attn_implementation:
            model_kwargs["attn_implementation"] = self.settings.attn_implementation
        if placement.device_map is not None:
            loaded.offload_dir = tempfile.TemporaryDirectory(prefix="rest-checks-offload-")
        offload = loaded.offload_dir.name if loaded.offload_dir is not None else ""
        placed = load_kwargs(placement, self.settings.max_memory, offload)
        auto_model: Any = AutoModelForImageTextToText  # its stubs type from_pretrained oddly
        try:
            model = auto_model.from_pretrained(self.name, **model_kwargs, **placed)
            if not placed and placement.device != "cpu":
                model.to(placement.device)
        except Exception as exc:  # every cause becomes one clear message
            raise self.failed(exc, "the weights") from exc
        model.eval()
        return model

    def generation_config(self, tokenizer: Any) -> Any:
        """Greedy search with the checkpoint's stop tokens (else the tokenizer's)."""
        eos_ids = self.checkpoint.eos_ids or token_ids(tokenizer.eos_token_id)
        if not eos_ids:
            raise ModelError(
                f"model {self.spec!r}: neither the checkpoint nor its tokenizer "
                "names an end-of-sequence token"
            )
        pad = self.checkpoint.pad_id
        pad_id = int(pad if pad is not None else tokenizer.pad_token_id)
        generation = greedy_config(eos_ids, pad_id, self.checkpoint.bos_id)
        if self.settings.fast_path:
            # A preallocated KV cache of fixed shape (what torch.compile needs to reuse one
            # graph); greedy search over it is the same computation.
            generation.cache_implementation = "static"
        return generation

    def image_processor_kwargs(self) -> dict[str, Any]:
        """What the image processor is built with so that it keeps every page whole."""
        kwargs: dict[str, Any] = {}
        if self.checkpoint.pixels is not None:
            least, most = self.checkpoint.pixels
            if self.checkpoint.model_type in BUDGET_AS_SIZE:
                kwargs["size"] = {"shortest_edge": least, "longest_edge": most}
            else:
                kwargs["min_pixels"] = least
                kwargs["max_pixels"] = most
        if self.checkpoint.image_fit == hf_images.FIT_PAD_SQUARE:
            kwargs["do_center_crop"] = False  # pages are padded to a square instead
        return kwargs

    def check_image_processor(self, image_processor: Any, loaded: Loaded) -> None:
        """Fail loudly unless the loaded image processor keeps the whole page: the pinned
        pixel budget, and no centre crop where pages are padded to a square."""
        if self.checkpoint.pixels is not None:
            got = hf_images.pixel_budget_of(image_processor)
            if got != self.checkpoint.pixels:
                least, most = self.checkpoint.pixels
                raise ModelError(
                    f"model {self.spec!r}: the image processor did not take the pixel budget "
                    f"min_pixels={least}, max_pixels={most} (it has {got})"
                )
        if self.checkpoint.image_fit == hf_images.FIT_PAD_SQUARE:
            if getattr(image_processor, "do_center_crop", False):
                raise ModelError(
                    f"model {self.spec!r}: the image processor still crops the centre of the "
                    "page after do_center_crop=False"
                )
            loaded.pad_colour = hf_images.mean_colour(getattr(image_processor, "image_mean", None))


def find_image_token_id(model: Any, processor: Any) -> int | None:
    """The id of the token each image patch becomes, where the model or processor names it."""
    for holder, attr in (
        (model.config, "image_token_id"),
        (model.config, "image_token_index"),
        (processor, "image_token_id"),
    ):
        value = getattr(holder, attr, None)
        if isinstance(value, int):
            return value
    token = getattr(processor, "image_token", None)
    if isinstance(token, str):
        return int(processor.tokenizer.convert_tokens_to_ids(token))
    return None


def release(loaded: Loaded, device: str) -> None:
    """Drop the model and processor, the offload folder, and the GPU's cached memory."""
    was_loaded = loaded.model is not None
    loaded.model = None
    loaded.processor = None
    if loaded.offload_dir is not None:
        loaded.offload_dir.cleanup()
        loaded.offload_dir = None
    if was_loaded and device != "cpu":
        import torch

        torch.cuda.empty_cache()
