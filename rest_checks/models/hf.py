"""Local Hugging Face transformers models (``hf:REPO_OR_PATH`` and aliases such as ``qwen2-vl``).

Loads any image-text-to-text model through ``AutoProcessor`` and
``AutoModelForImageTextToText`` and prompts it through the processor's own chat template,
with the image first and the prompt text after it. Decoding is greedy. Requests are
generated in batches of ``batch_size`` with left padding, images handed to the processor
one list per row; requests with and without an image are batched apart. The batches have
fixed boundaries, cut from the whole run's order (``fixed_batches``), so which requests
share a batch never depends on the cache, ``-k`` or ``-n``; a batch that fails gives its
requests the error and the others go on.

Decoding is plain greedy search with the checkpoint's stop tokens and nothing else from its
generation config (``hf_decoding``: no repetition penalty, no sampling filters). Every page
reaches the vision tower whole, as each family's original preprocessing has it
(``hf_images``). ``--rest-device`` and ``--rest-dtype`` are decided from the weights' size
and the machine (``hf_placement``). A model that cannot load raises one
``ModelLoadError`` naming the file and the fix (``hf_load_errors``), remembered so nothing
loads twice.

Batch composition can change greedy answers in bfloat16 on a GPU (docs/gpu.md), so the batch
size is part of the model identity, as are the device kind and device map, the dtype, the
stop tokens, how images are fitted, the pinned pixel budget of the Qwen families and
``trust_remote_code``. A local checkpoint is named by its content (``checkpoint_identity``).

torch and transformers are imported only when a model is built. The weights are loaded on
the first ``generate`` (or ``load()``), so a run answered entirely from the cache never
loads them.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import tempfile
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rest_checks.items.base import Item
from rest_checks.models import (
    checkpoint_files,
    checkpoint_identity,
    hf_images,
    hf_load_errors,
    hf_probe,
)
from rest_checks.models.base import (
    Collected,
    Model,
    ModelError,
    ModelLoadError,
    ReplySink,
    Response,
)
from rest_checks.models.fixed_batches import FixedBatches, RequestKey, Wanted, request_key
from rest_checks.models.hf_decoding import GREEDY, checkpoint_eos_ids, greedy_config, token_ids
from rest_checks.models.hf_placement import (
    Placement,
    device_facts,
    device_kind_for,
    device_map_summary,
    input_device,
    load_kwargs,
    resolve_dtype,
    resolve_placement,
)
from rest_checks.models.pixels import BUDGET_AS_SIZE, PIXEL_BUDGETS, QWEN_PIXEL_BUDGET
from rest_checks.progress import say
from rest_checks.prompts import Request, text_request

if TYPE_CHECKING:
    import torch

SETTINGS = (
    "min_pixels",
    "max_pixels",
    "revision",
    "max_new_tokens",
    "attn_implementation",
    "max_memory",
    "fast_path",
    "trust_remote_code",
)
# Model types whose image processor takes a pixel budget (min_pixels/max_pixels), which we pin.
PIXEL_BUDGET_MODEL_TYPES = tuple(PIXEL_BUDGETS)
# Weight files at least this large are announced while they are hashed (once per change).
HASH_NOTICE_BYTES = 1 << 30
# Replies of fixed-batch companions kept for when they are asked (a run asking case by case).
SPARE_REPLIES = 1024
# The text pools of this many items are kept for the probe between generate() calls.
PROBE_CACHE_ITEMS = 256


def default_qwen_pixels() -> dict[str, int]:
    """The pixel budget pinned for Qwen2-VL-family models when the user sets none."""
    return dict(QWEN_PIXEL_BUDGET)


def _progress(message: str) -> None:
    # Loading a large model takes minutes: say what is happening.
    say(f"hf: {message}")


def dtype_name(value: Any) -> str | None:
    """A config's ``dtype`` (a torch dtype or its name) as a name: ``"bfloat16"``."""
    if value is None:
        return None
    return str(value).removeprefix("torch.")


def announce_hashing(path: Path, size: int) -> None:
    if size >= HASH_NOTICE_BYTES:
        _progress(f"hashing {path.name} ({checkpoint_files.gib(size)}) for the model identity ...")


def batch_error_message(spec: str, batch: Sequence[_Prepared], exc: BaseException) -> str:
    """What a failed batch's requests are told: the model, the batch and the error."""
    first = batch[0].request
    kind = "image" if batch[0].image is not None else "text"
    text = " ".join(str(exc).split())
    if len(text) > 600:
        text = text[:600] + " ..."
    return (
        f"model {spec!r}: a batch of {len(batch)} {kind} request(s) from "
        f"{first.item_id}/{first.modality} failed: {type(exc).__name__}: {text}"
    )


def _on_fresh_page(request: Request) -> Request:
    page = request.image
    return request if page is None else dataclasses.replace(request, page=page.fresh())


@dataclass
class _Prepared:
    """One request made ready for the processor."""

    index: int
    request: Request
    chat_text: str
    image: Any  # PIL.Image.Image | None
    max_new_tokens: int

    @property
    def size_key(self) -> tuple[int, int]:
        pixels = self.image.width * self.image.height if self.image is not None else 0
        return pixels, len(self.chat_text)


@dataclass
class _Decoded:
    """One row of a batch after greedy search."""

    tokens: list[int]  # the answer's tokens, without the stop token
    stopped: bool  # a stop token ended it (else the budget did)
    prompt_tokens: int
    n_visual: int | None
    scores: Any = None  # torch.Tensor [steps, vocab] when asked for


class HFModel(Model):
    """A local transformers image-text-to-text model.

    ``settings`` may hold ``min_pixels``/``max_pixels`` (Qwen2-VL family; pinned to
    ``models.pixels.PIXEL_BUDGETS`` when absent), ``revision``, ``max_new_tokens`` (a cap
    on every request's own budget), ``attn_implementation``, ``max_memory`` (per device,
    for ``device="auto"``; see ``hf_placement``), ``fast_path`` (opt-in: a static KV cache
    and PyTorch's scaled-dot-product attention; part of the identity, as it may change the
    last bits of bf16 numerics) and ``trust_remote_code`` (opt-in; part of the identity).

    Every response's ``extra`` holds ``prompt_tokens``, ``new_tokens`` and ``finish_reason``
    (``"stop"`` or ``"length"``). With ``probe=True``, image and mixed responses also hold
    ``extra["probe"]``: ``layer_cosine`` (one cosine per layer, embeddings first, between the
    mean hidden state over the image tokens and over the text tokens of the same content in
    the item's text prompt; see ``hf_probe``), ``image_tokens``, ``text_tokens`` and
    ``text_span``. The text side is computed with one extra forward pass per item, whether or
    not the item's text request is in the same call, and kept for the next calls.
    """

    def __init__(
        self,
        name: str,
        *,
        spec: str,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 8,
        probe: bool = False,
        settings: dict[str, Any] | None = None,
    ) -> None:
        settings = dict(settings or {})
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ModelError(
                f"model {spec!r}: unknown hf setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(SETTINGS)}"
            )
        if int(batch_size) < 1:
            raise ModelError(f"model {spec!r}: batch_size must be at least 1, got {batch_size}")
        self.spec = spec
        self.name = name
        self.batch_size = int(batch_size)
        self.probe = probe
        self.revision: str | None = settings.get("revision")
        cap = settings.get("max_new_tokens")
        self.max_new_tokens_cap: int | None = None if cap is None else int(cap)
        if self.max_new_tokens_cap is not None and self.max_new_tokens_cap < 1:
            raise ModelError(f"model {spec!r}: max_new_tokens must be at least 1, got {cap}")
        self.attn_implementation: str | None = settings.get("attn_implementation")
        self.fast_path = settings.get("fast_path", False)
        if not isinstance(self.fast_path, bool):
            raise ModelError(
                f"model {spec!r}: fast_path must be true or false, got {self.fast_path!r}"
            )
        if self.fast_path and self.attn_implementation is None:
            self.attn_implementation = "sdpa"
        max_memory = settings.get("max_memory")
        if max_memory is not None and not isinstance(max_memory, dict):
            raise ModelError(
                f"model {spec!r}: max_memory must be a table of device -> size, "
                f'e.g. {{0 = "70GiB", cpu = "100GiB"}}; got {max_memory!r}'
            )
        self.max_memory: dict[str, Any] | None = max_memory
        # Opt-in only, never asked on the terminal: False makes transformers refuse remote
        # code instead of prompting for it.
        self.trust_remote_code = settings.get("trust_remote_code", False)
        if not isinstance(self.trust_remote_code, bool):
            raise ModelError(
                f"model {spec!r}: trust_remote_code must be true or false, "
                f"got {self.trust_remote_code!r}"
            )
        try:
            import torch  # noqa: F401 - the backend cannot work without it
            import transformers  # noqa: F401
        except ImportError as exc:
            raise hf_load_errors.explain(
                exc, spec=spec, name=name, stage="the hf backend"
            ) from None

        from transformers import AutoConfig, GenerationConfig
        from transformers.image_processing_base import ImageProcessingMixin

        try:
            self._config = AutoConfig.from_pretrained(
                name, revision=self.revision, trust_remote_code=self.trust_remote_code
            )
        except (OSError, ValueError) as exc:
            if "trust_remote_code" in str(exc):
                raise hf_load_errors.explain(
                    exc, spec=spec, name=name, stage="the config"
                ) from None
            raise ModelError(
                f"model {spec!r}: cannot read the config of {name!r} ({exc}). Give a local "
                "checkpoint directory or a hub name already in the local cache; nothing is "
                "downloaded when HF_HUB_OFFLINE=1."
            ) from exc
        self.model_type: str = str(getattr(self._config, "model_type", "unknown"))
        self._place(device, dtype)
        self.min_pixels: int | None = None
        self.max_pixels: int | None = None
        if self.model_type in PIXEL_BUDGET_MODEL_TYPES:
            pixels = PIXEL_BUDGETS[self.model_type]
            self.min_pixels = int(settings.get("min_pixels", pixels["min_pixels"]))
            self.max_pixels = int(settings.get("max_pixels", pixels["max_pixels"]))
            if not 0 < self.min_pixels <= self.max_pixels:
                raise ModelError(
                    f"model {spec!r}: need 0 < min_pixels <= max_pixels, got "
                    f"{self.min_pixels} and {self.max_pixels}"
                )
        elif "min_pixels" in settings or "max_pixels" in settings:
            raise ModelError(
                f"model {spec!r}: min_pixels/max_pixels apply to Qwen2-VL-family models only, "
                f"not to model type {self.model_type!r}"
            )
        try:
            generation = GenerationConfig.from_pretrained(name, revision=self.revision or "main")
        except OSError:
            generation = GenerationConfig.from_model_config(self._config)
        # Only the stop and padding tokens are taken from the checkpoint's generation config.
        self.eos_ids: list[int] = checkpoint_eos_ids(generation, self._config)
        self._checkpoint_pad_id = generation.pad_token_id
        self._checkpoint_bos_id = generation.bos_token_id
        try:
            processor_config, _ = ImageProcessingMixin.get_image_processor_dict(
                name, revision=self.revision or "main"
            )
        except (OSError, ValueError):
            processor_config = {}
        vision = getattr(self._config, "vision_config", None)
        self.image_fit = hf_images.image_fit(
            self.model_type, processor_config, getattr(vision, "model_type", None)
        )

        local = Path(name)
        # A local checkpoint is named by its content (checkpoint_identity): weights,
        # config, tokenizer, processor and chat template.
        try:
            self._local_fingerprint = (
                checkpoint_identity.content_fingerprint(local, announce=announce_hashing)
                if local.is_dir()
                else None
            )
        except OSError as exc:
            raise ModelError(
                f"model {spec!r}: cannot read the checkpoint's files to name it by content: {exc}"
            ) from None
        self._commit: str | None = getattr(self._config, "_commit_hash", None)

        self._model: Any = None
        self._processor: Any = None
        self._image_token_id: int | None = None
        self._generation: Any = None  # the greedy GenerationConfig, once loaded
        self._input_device: Any = self.device
        self._pad_colour: tuple[int, int, int] = (128, 128, 128)
        self._offload_dir: tempfile.TemporaryDirectory[str] | None = None
        self._text_pools: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._load_failure: ModelLoadError | None = None
        self._fixed: FixedBatches | None = None  # the run's fixed batches (fix_order)
        # Replies computed as companions in a fixed batch, until they are asked.
        self._spare: OrderedDict[RequestKey, Response] = OrderedDict()

    def _place(self, device: str | None, dtype: str | None) -> None:
        """Choose the dtype (the checkpoint's, fitted to the device) and where the weights
        go (``hf_placement``), from the weights' size read off their headers."""
        facts = device_facts()
        weights = self._weights()
        saved = dtype_name(
            getattr(self._config, "dtype", None) or getattr(self._config, "torch_dtype", None)
        )
        if saved is None and weights is not None:
            saved = weights.dtype
        self.dtype = resolve_dtype(dtype, device_kind_for(device, facts), saved, facts)
        self.placement: Placement = resolve_placement(
            device,
            self.max_memory,
            model_bytes=None if weights is None else weights.bytes_at(self.dtype),
            dtype=self.dtype,
            facts=facts,
        )
        self.device = self.placement.device
        if self.placement.note:
            _progress(self.placement.note)

    def _checkpoint_dir(self) -> Path | None:
        """The checkpoint's directory: the local path, or the hub cache's snapshot."""
        local = Path(self.name)
        if local.is_dir():
            return local
        try:
            from huggingface_hub import snapshot_download

            found = snapshot_download(self.name, revision=self.revision, local_files_only=True)
        except Exception:  # not in the local cache: the size is unknown
            return None
        return Path(found)

    # -- identity ----------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        if self._local_fingerprint is not None:
            # A local directory: its name and its content's hash, not the machine's path.
            name = Path(self.name).resolve().name
            revision: str | None = f"local:{self._local_fingerprint}"
        else:
            name = self.name
            revision = self._commit or self.revision
        identity: dict[str, Any] = {
            "backend": "hf",
            "name": name,
            "revision": revision,
            "dtype": self.dtype,
            "device": self.placement.device_kind,
            "device_map": self.placement.device_map,
            "batch_size": self.batch_size,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "image_fit": self.image_fit,
            "decoding": "greedy",
            "repetition_penalty": GREEDY["repetition_penalty"],
            "eos_token_ids": self.eos_ids,
            "max_new_tokens": (
                "request"
                if self.max_new_tokens_cap is None
                else f"min(request, {self.max_new_tokens_cap})"
            ),
            "attn_implementation": self.attn_implementation,
        }
        if self.fast_path:
            identity["fast_path"] = "static-cache"
        if self.trust_remote_code:
            identity["trust_remote_code"] = True  # the checkpoint's own code answers
        if self.probe:
            # Probe values live in the cached responses: a probing run must not be served
            # answers cached without them.
            identity["probe"] = True
        return identity

    # -- loading -----------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the processor and the weights now (``generate`` does it on first use).

        A failure is a ``ModelLoadError`` that says what failed, the file and the fix; it is
        remembered, so every later call raises it again without loading anything."""
        if self._model is not None:
            return
        if self._load_failure is not None:
            raise self._load_failure
        try:
            self._load()
        except ModelLoadError as exc:
            self._load_failure = exc
        except ModelError as exc:  # e.g. a pixel budget not taken, accelerate missing
            self._load_failure = ModelLoadError(str(exc))
        if self._load_failure is not None:
            self.close()
            raise self._load_failure

    def _failed(self, exc: BaseException, stage: str) -> ModelLoadError:
        summary = self._weights()
        return hf_load_errors.explain(
            exc,
            spec=self.spec,
            name=self.name,
            stage=stage,
            needed_bytes=None if summary is None else summary.bytes_at(self.dtype),
            dtype=self.dtype,
        )

    def _weights(self) -> checkpoint_files.WeightSummary | None:
        directory = self._checkpoint_dir()
        return None if directory is None else checkpoint_files.summary(directory)

    def _load(self) -> None:
        import torch
        from transformers import (
            AutoImageProcessor,
            AutoModelForImageTextToText,
            AutoProcessor,
        )

        started = time.monotonic()
        _progress(f"loading processor of {self.name} ...")
        remote = {"trust_remote_code": self.trust_remote_code}
        try:
            # The image processor is loaded on its own, with the settings that fit a page
            # whole, and handed to the processor: keyword arguments beat a published
            # preprocessor_config.json's top-level min_pixels/max_pixels (which would
            # override a ``size`` argument), and are not kept as per-call arguments.
            image_processor = AutoImageProcessor.from_pretrained(
                self.name, revision=self.revision, **remote, **self._image_processor_kwargs()
            )
            processor = AutoProcessor.from_pretrained(
                self.name, revision=self.revision, image_processor=image_processor, **remote
            )
        except Exception as exc:  # every cause becomes one clear message
            raise self._failed(exc, "the processor") from exc
        self._check_image_processor(processor.image_processor)
        tokenizer = processor.tokenizer
        if not (
            getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)
        ):
            raise hf_load_errors.no_chat_template(self.spec, self.name)
        tokenizer.padding_side = "left"  # decoder-only generation continues from the right
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

        where = self.device if self.placement.device_map is None else "device_map=auto"
        _progress(f"loading weights of {self.name} on {where} in {self.dtype} ...")
        model_kwargs: dict[str, Any] = {
            "dtype": getattr(torch, self.dtype),
            "revision": self.revision,
            **remote,
        }
        if self.attn_implementation:
            model_kwargs["attn_implementation"] = self.attn_implementation
        if self.placement.device_map is not None:
            self._offload_dir = tempfile.TemporaryDirectory(prefix="rest-checks-offload-")
        offload = self._offload_dir.name if self._offload_dir is not None else ""
        placed = load_kwargs(self.placement, self.max_memory, offload)
        auto_model: Any = AutoModelForImageTextToText  # its stubs type from_pretrained oddly
        try:
            model = auto_model.from_pretrained(self.name, **model_kwargs, **placed)
            if not placed and self.device != "cpu":
                model.to(self.device)
        except Exception as exc:  # every cause becomes one clear message
            raise self._failed(exc, "the weights") from exc
        model.eval()

        eos_ids = self.eos_ids or token_ids(tokenizer.eos_token_id)
        if not eos_ids:
            raise ModelError(
                f"model {self.spec!r}: neither the checkpoint nor its tokenizer "
                "names an end-of-sequence token"
            )
        pad = self._checkpoint_pad_id
        pad_id = int(pad if pad is not None else tokenizer.pad_token_id)
        self._generation = greedy_config(eos_ids, pad_id, self._checkpoint_bos_id)
        if self.fast_path:
            # A preallocated KV cache of fixed shape (what torch.compile needs to reuse one
            # graph); greedy search over it is the same computation.
            self._generation.cache_implementation = "static"
        # generate() fills what it is not given from the model's own generation config:
        # replace it, so nothing of the checkpoint's (penalty, top-k, ...) can come back.
        model.generation_config = self._generation

        self._processor = processor
        self._model = model
        self._input_device = input_device(model, self.placement)
        self._image_token_id = self._find_image_token_id(model, processor)
        n_params = sum(p.numel() for p in model.parameters())
        placement = (
            f", {device_map_summary(model)}" if self.placement.device_map is not None else ""
        )
        _progress(
            f"loaded {self.name} ({n_params / 1e6:.1f} M parameters{placement}) "
            f"in {time.monotonic() - started:.1f} s"
        )

    def _image_processor_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.min_pixels is not None and self.max_pixels is not None:
            if self.model_type in BUDGET_AS_SIZE:
                kwargs["size"] = {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels}
            else:
                kwargs["min_pixels"] = self.min_pixels
                kwargs["max_pixels"] = self.max_pixels
        if self.image_fit == hf_images.FIT_PAD_SQUARE:
            kwargs["do_center_crop"] = False  # pages are padded to a square instead
        return kwargs

    def _check_image_processor(self, image_processor: Any) -> None:
        """Fail loudly unless the loaded image processor keeps the whole page: the pinned
        pixel budget, and no centre crop where pages are padded to a square."""
        if self.max_pixels is not None:
            got = hf_images.pixel_budget_of(image_processor)
            if got != (self.min_pixels, self.max_pixels):
                raise ModelError(
                    f"model {self.spec!r}: the image processor did not take the pixel budget "
                    f"min_pixels={self.min_pixels}, max_pixels={self.max_pixels} (it has {got})"
                )
        if self.image_fit == hf_images.FIT_PAD_SQUARE:
            if getattr(image_processor, "do_center_crop", False):
                raise ModelError(
                    f"model {self.spec!r}: the image processor still crops the centre of the "
                    "page after do_center_crop=False"
                )
            self._pad_colour = hf_images.mean_colour(getattr(image_processor, "image_mean", None))

    @staticmethod
    def _find_image_token_id(model: Any, processor: Any) -> int | None:
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

    def close(self) -> None:
        loaded = self._model is not None
        self._model = None
        self._processor = None
        self._text_pools.clear()
        if self._offload_dir is not None:
            self._offload_dir.cleanup()
            self._offload_dir = None
        if loaded and self.device != "cpu":
            import torch

            torch.cuda.empty_cache()

    # -- generation --------------------------------------------------------------------

    def max_new_tokens_for(self, request: Request) -> int:
        if self.max_new_tokens_cap is None:
            return request.max_tokens
        return min(request.max_tokens, self.max_new_tokens_cap)

    def chat_text(self, prompt: str, with_image: bool) -> str:
        """The prompt after the processor's chat template, ready for generation."""
        content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
        content.append({"type": "text", "text": prompt})
        messages = [{"role": "user", "content": content}]
        text = self._processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        return str(text)

    def _prepare(self, index: int, request: Request) -> _Prepared:
        image: Any = None
        if request.image_png is not None:
            from PIL import Image

            try:
                with Image.open(io.BytesIO(request.image_png)) as page:
                    # Pages are palette PNGs; every processor gets the RGB pixels they encode.
                    image = page.convert("RGB")
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"request {request.item_id}/{request.modality}: image is not a readable "
                    f"PNG: {exc}"
                ) from exc
            if self.image_fit == hf_images.FIT_PAD_SQUARE:
                image = hf_images.pad_to_square(image, self._pad_colour)
        return _Prepared(
            index,
            request,
            self.chat_text(request.prompt, image is not None),
            image,
            self.max_new_tokens_for(request),
        )

    def _encode(self, texts: list[str], images: list[Any]) -> Any:
        # One list of images per row: a flat list is one sample with every image to the
        # processors of Gemma 3, Idefics3/SmolVLM and Mllama, and every family takes this.
        inputs = self._processor(
            text=texts,
            images=[[image] for image in images] or None,
            padding=True,
            return_tensors="pt",
        )
        import torch

        return inputs.to(self._input_device, dtype=getattr(torch, self.dtype))

    def batches(self, prepared: Sequence[_Prepared]) -> list[list[_Prepared]]:
        """Requests outside the run's fixed order (or all, when none was given): without an
        image, then with one; smaller first; ``batch_size`` each."""
        out: list[list[_Prepared]] = []
        for with_image in (False, True):
            group = sorted(
                (p for p in prepared if (p.image is not None) == with_image),
                key=lambda p: (p.size_key, p.index),
            )
            out.extend(
                group[i : i + self.batch_size] for i in range(0, len(group), self.batch_size)
            )
        return out

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        collected = Collected(len(requests))
        self.stream(requests, collected)
        return collected.replies()

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        """Generate batch by batch (see ``batches``), handing each batch's replies to
        ``sink`` as soon as the batch is done."""
        if not requests:
            return
        self.load()
        loose = list(range(len(requests)))
        if self._fixed is not None:
            loose = self._answer_spare(requests, sink)
            wanted, outside = self._fixed.split([requests[i] for i in loose])
            for fixed in wanted:
                fixed.asked = {k: [loose[j] for j in v] for k, v in fixed.asked.items()}
                self._answer_fixed(requests, fixed, sink)
            loose = [loose[j] for j in outside]
        prepared = []
        for index in loose:
            try:
                prepared.append(self._prepare(index, requests[index]))
            except ModelError as exc:
                sink.reply(index, Response("", error=str(exc)))  # this request alone fails
        for batch in self.batches(prepared):
            for p, response in zip(batch, self._answer_batch(batch), strict=True):
                sink.reply(p.index, response)

    def fix_order(self, requests: Sequence[Request]) -> None:
        self._fixed = FixedBatches.of(requests, self.batch_size)
        self._spare.clear()

    def _answer_spare(self, requests: Sequence[Request], sink: ReplySink) -> list[int]:
        """Reply to the requests a fixed batch already answered as companions of others
        (the same batch, so the same answers); returns the indexes still to generate."""
        served: set[RequestKey] = set()
        rest = []
        for index, request in enumerate(requests):
            key = request_key(request)
            spare = self._spare.get(key)
            if spare is None:
                rest.append(index)
            else:
                sink.reply(index, spare)
                served.add(key)
        for key in served:
            del self._spare[key]
        return rest

    def _answer_fixed(self, requests: Sequence[Request], fixed: Wanted, sink: ReplySink) -> None:
        """Generate one fixed batch whole and reply to the asked requests it holds; the
        companions' replies are kept a while for when they are asked (``_answer_spare``)."""
        batch: list[_Prepared] = []
        for member in fixed.members:
            asked = fixed.asked.get(request_key(member), [])
            # The asked request itself (same call; it may carry its item for the probe); a
            # companion on a page of its own, so the run's order never holds rendered bytes.
            request = requests[asked[0]] if asked else _on_fresh_page(member)
            try:
                batch.append(self._prepare(asked[0] if asked else -1, request))
            except ModelError as exc:
                for index in asked:
                    sink.reply(index, Response("", error=str(exc)))
        if not any(p.index >= 0 for p in batch):
            return
        for p, response in zip(batch, self._answer_batch(batch), strict=True):
            key = request_key(p.request)
            if p.index < 0 and response.error is None:
                self._spare[key] = response
                while len(self._spare) > SPARE_REPLIES:
                    self._spare.popitem(last=False)
            for index in fixed.asked.get(key, []):
                sink.reply(index, response)

    def _answer_batch(self, batch: list[_Prepared]) -> list[Response]:
        """One batch's replies; when the processor or ``generate`` fails on it, each of its
        requests gets the failure as its ``error`` (as an API request that fails for good
        does) and the other batches go on."""
        try:
            responses = self._generate_batch(batch)
            if self.probe:
                responses = [self._with_probe(p, r) for p, r in zip(batch, responses, strict=True)]
            return responses
        except Exception as exc:  # any failure of this batch is its requests'
            message = batch_error_message(self.spec, batch, exc)
            return [Response("", error=message) for _ in batch]

    def step_scores(self, requests: Sequence[Request]) -> list[torch.Tensor]:
        """The scores greedy search chose from at each step of each request's answer: one
        float32 ``[steps, vocab]`` tensor per request (the steps up to and including its stop
        token), batched as ``generate`` batches requests outside a fixed order (``batches``).
        What "batched equals one at a time" is measured on."""
        if not requests:
            return []
        self.load()
        prepared = [self._prepare(i, r) for i, r in enumerate(requests)]
        out: list[Any] = [None] * len(requests)
        for batch in self.batches(prepared):
            for p, decoded in zip(batch, self._decode(batch, with_scores=True), strict=True):
                out[p.index] = decoded.scores
        return out

    def _generate_batch(self, batch: list[_Prepared]) -> list[Response]:
        results = []
        for decoded in self._decode(batch):
            text = self._processor.tokenizer.decode(
                decoded.tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            results.append(
                Response(
                    text=text,
                    n_visual_tokens=decoded.n_visual,
                    extra={
                        "prompt_tokens": decoded.prompt_tokens,
                        "new_tokens": len(decoded.tokens),
                        "finish_reason": "stop" if decoded.stopped else "length",
                    },
                )
            )
        return results

    def _decode(self, batch: list[_Prepared], with_scores: bool = False) -> list[_Decoded]:
        """Greedy search over one batch (rows with and without images may be mixed)."""
        import torch

        inputs = self._encode(
            [p.chat_text for p in batch], [p.image for p in batch if p.image is not None]
        )
        input_ids = inputs["input_ids"]
        prompt_len = int(input_ids.shape[1])
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        if self._image_token_id is not None:
            visual = (input_ids == self._image_token_id).sum(dim=1).tolist()
        else:
            visual = [None] * len(batch)
        # Greedy is prefix-stable: one run to the longest budget, then each row is cut to
        # its own, gives what each request would get alone.
        config = copy.deepcopy(self._generation)
        config.max_new_tokens = max(p.max_new_tokens for p in batch)
        config.output_scores = with_scores
        config.return_dict_in_generate = True
        with torch.inference_mode():
            output = self._model.generate(**inputs, generation_config=config)
        new_tokens = output.sequences[:, prompt_len:].tolist()
        stops = set(config.eos_token_id)
        decoded = []
        for row, p in enumerate(batch):
            tokens = new_tokens[row][: p.max_new_tokens]
            stop = next((i for i, t in enumerate(tokens) if t in stops), None)
            scores = None
            if with_scores:
                steps = len(tokens) if stop is None else stop + 1
                scores = torch.stack([s[row] for s in output.scores[:steps]]).float().cpu()
            n_visual = visual[row] if p.image is not None else None
            decoded.append(
                _Decoded(
                    tokens=tokens if stop is None else tokens[:stop],
                    stopped=stop is not None,
                    prompt_tokens=int(prompt_tokens[row]),
                    n_visual=None if n_visual is None else int(n_visual),
                    scores=scores,
                )
            )
        return decoded

    # -- representation probe ----------------------------------------------------------

    def _hidden_states(self, inputs: Any) -> Sequence[torch.Tensor]:
        import torch

        with torch.inference_mode():
            out = self._model(**inputs, output_hidden_states=True, logits_to_keep=1)
        return tuple(out.hidden_states)

    def image_pool(self, request: Request) -> tuple[torch.Tensor, int]:
        """Per-layer mean hidden state over the image tokens of ``request``, and their count."""
        self.load()
        if request.image_png is None:
            raise ModelError(f"request {request.item_id}/{request.modality} has no image")
        p = self._prepare(0, request)
        inputs = self._encode([p.chat_text], [p.image])
        if self._image_token_id is None:
            raise ModelError(f"model {self.spec!r}: no image token id to pool over")
        positions = (inputs["input_ids"][0] == self._image_token_id).nonzero().flatten()
        pooled = hf_probe.mean_pool_layers(self._hidden_states(inputs), positions)
        return pooled, int(positions.numel())

    def text_pools(self, item: Item) -> dict[str, Any]:
        """Per-layer mean hidden states over the content tokens of the item's text request:
        ``{"full_text": (tensor, n_tokens), "context": (tensor, n_tokens) | None}``."""
        key = (item.id, item.full_text())
        if key in self._text_pools:
            self._text_pools.move_to_end(key)
            return self._text_pools[key]
        self.load()
        import torch

        rendered = self.chat_text(text_request(item).prompt, with_image=False)
        encoded = self._processor.tokenizer(rendered, return_offsets_mapping=True)
        offsets = [tuple(span) for span in encoded["offset_mapping"]]
        inputs = self._encode([rendered], [])
        if inputs["input_ids"][0].tolist() != list(encoded["input_ids"]):
            raise ModelError(
                f"model {self.spec!r}: the tokenizer's offsets do not match the processor's "
                "tokens; the probe cannot locate the text content"
            )
        states = self._hidden_states(inputs)
        start, end = hf_probe.content_char_span(rendered, item.full_text())
        pools: dict[str, Any] = {"full_text": None, "context": None}
        full = hf_probe.token_positions_in_span(offsets, start, end)
        pools["full_text"] = (hf_probe.mean_pool_layers(states, torch.tensor(full)), len(full))
        if item.context:
            ctx = hf_probe.token_positions_in_span(offsets, start, start + len(item.context))
            pools["context"] = (hf_probe.mean_pool_layers(states, torch.tensor(ctx)), len(ctx))
        self._text_pools[key] = pools
        while len(self._text_pools) > PROBE_CACHE_ITEMS:
            self._text_pools.popitem(last=False)
        return pools

    def _with_probe(self, p: _Prepared, response: Response) -> Response:
        request = p.request
        if request.modality not in ("image", "mixed") or request.item is None:
            return response
        if request.image_png is None:
            return response
        text = self.text_pools(request.item)
        # The mixed image holds only the context; the image one holds everything.
        span = "context" if request.modality == "mixed" else "full_text"
        if text[span] is None:
            return response
        text_vec, n_text = text[span]
        image_vec, n_image = self.image_pool(request)
        probe = {
            "layer_cosine": [round(c, 6) for c in hf_probe.layerwise_cosine(image_vec, text_vec)],
            "image_tokens": n_image,
            "text_tokens": n_text,
            "text_span": span,
        }
        return Response(response.text, response.n_visual_tokens, {**response.extra, "probe": probe})
