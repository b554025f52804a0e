"""Local Hugging Face transformers models (``hf:REPO_OR_PATH`` and aliases such as ``qwen2-vl``).

Loads any image-text-to-text model through ``AutoProcessor`` and
``AutoModelForImageTextToText`` and prompts it through the processor's own chat template,
with the image first and the prompt text after it. Decoding is greedy. Requests are
generated in batches of ``batch_size`` with left padding; requests with and without an image
are batched apart (processors differ in how they take a batch where only some prompts hold
an image), and within each kind the smaller inputs go first so a batch pads little.

Batch composition can change greedy answers in bfloat16 on a GPU (docs/gpu.md), so the batch
size is part of the model identity, as are the device kind, the dtype and, for Qwen2-VL and
Qwen2.5-VL, the pinned pixel budget of the image processor.

torch and transformers are imported only when a model is built. The weights are loaded on
the first ``generate`` (or ``load()``), so a run answered entirely from the cache never
loads them.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rest_checks.items.base import Item
from rest_checks.models import hf_probe
from rest_checks.models.base import Model, ModelError, Response
from rest_checks.models.pixels import QWEN_PIXEL_BUDGET
from rest_checks.progress import say
from rest_checks.prompts import Request, text_request

if TYPE_CHECKING:
    import torch

DTYPES = ("auto", "float32", "bfloat16", "float16")
SETTINGS = ("min_pixels", "max_pixels", "revision", "max_new_tokens", "attn_implementation")
# Model types whose image processor takes a pixel budget (min_pixels/max_pixels), which we pin.
PIXEL_BUDGET_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl")
# The text pools of this many items are kept for the probe between generate() calls.
PROBE_CACHE_ITEMS = 256


def default_qwen_pixels() -> dict[str, int]:
    """The pixel budget pinned for Qwen2-VL-family models when the user sets none."""
    return dict(QWEN_PIXEL_BUDGET)


def _progress(message: str) -> None:
    # Loading a large model takes minutes: say what is happening.
    say(f"hf: {message}")


def resolve_device(device: str | None) -> str:
    """``None``/``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    import torch

    choice = (device or "auto").strip().lower()
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return "cpu"
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ModelError(f"device {device!r} was asked for, but torch sees no CUDA GPU")
        return choice
    raise ModelError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")


def resolve_dtype(dtype: str | None, device: str) -> str:
    """``None``/``"auto"`` -> bfloat16 on a GPU, float32 on the CPU."""
    choice = (dtype or "auto").strip().lower()
    if choice not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    if choice == "auto":
        return "float32" if device == "cpu" else "bfloat16"
    return choice


def local_fingerprint(directory: Path) -> str:
    """A short hash of a local checkpoint (its config and the names and sizes of its weight
    files), so that the identity names the checkpoint without naming the machine's path."""
    digest = hashlib.sha256()
    config = directory / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for path in sorted(directory.iterdir()):
        if path.suffix in (".safetensors", ".bin", ".pt") and path.is_file():
            digest.update(f"{path.name}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


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


class HFModel(Model):
    """A local transformers image-text-to-text model.

    ``settings`` may hold ``min_pixels``/``max_pixels`` (Qwen2-VL family; pinned to
    ``models.pixels.QWEN_PIXEL_BUDGET`` when absent), ``revision``, ``max_new_tokens`` (a cap
    on every request's own budget) and ``attn_implementation``.

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
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)

        from transformers import AutoConfig, GenerationConfig

        try:
            self._config = AutoConfig.from_pretrained(name, revision=self.revision)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"model {spec!r}: cannot read the config of {name!r} ({exc}). Give a local "
                "checkpoint directory or a hub name already in the local cache; nothing is "
                "downloaded when HF_HUB_OFFLINE=1."
            ) from exc
        self.model_type: str = str(getattr(self._config, "model_type", "unknown"))
        self.min_pixels: int | None = None
        self.max_pixels: int | None = None
        if self.model_type in PIXEL_BUDGET_MODEL_TYPES:
            pixels = default_qwen_pixels()
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
        self.repetition_penalty = float(generation.repetition_penalty or 1.0)

        local = Path(name)
        self._local_fingerprint = local_fingerprint(local) if local.is_dir() else None
        self._commit: str | None = getattr(self._config, "_commit_hash", None)

        self._model: Any = None
        self._processor: Any = None
        self._image_token_id: int | None = None
        self._eos_ids: set[int] = set()
        self._pad_id: int = 0
        self._text_pools: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    # -- identity ----------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        if self._local_fingerprint is not None:
            # A local directory: its name and a fingerprint, not the machine's path.
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
            "device": "cpu" if self.device == "cpu" else "cuda",
            "batch_size": self.batch_size,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "decoding": "greedy",
            "repetition_penalty": self.repetition_penalty,
            "max_new_tokens": (
                "request"
                if self.max_new_tokens_cap is None
                else f"min(request, {self.max_new_tokens_cap})"
            ),
            "attn_implementation": self.attn_implementation,
        }
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
        """Load the processor and the weights now (``generate`` does it on first use)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        started = time.monotonic()
        _progress(f"loading processor of {self.name} ...")
        processor_kwargs: dict[str, Any] = {"revision": self.revision}
        if self.min_pixels is not None and self.max_pixels is not None:
            processor_kwargs["size"] = {
                "shortest_edge": self.min_pixels,
                "longest_edge": self.max_pixels,
            }
        try:
            processor = AutoProcessor.from_pretrained(self.name, **processor_kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"model {self.spec!r}: cannot load the processor: {exc}") from exc
        if self.max_pixels is not None:
            size = processor.image_processor.size
            got = (getattr(size, "shortest_edge", None), getattr(size, "longest_edge", None))
            if got != (self.min_pixels, self.max_pixels):
                raise ModelError(
                    f"model {self.spec!r}: the image processor did not take the pixel budget "
                    f"min_pixels={self.min_pixels}, max_pixels={self.max_pixels} (it has {got})"
                )
        tokenizer = processor.tokenizer
        tokenizer.padding_side = "left"  # decoder-only generation continues from the right
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

        _progress(f"loading weights of {self.name} on {self.device} in {self.dtype} ...")
        model_kwargs: dict[str, Any] = {
            "dtype": getattr(torch, self.dtype),
            "revision": self.revision,
        }
        if self.attn_implementation:
            model_kwargs["attn_implementation"] = self.attn_implementation
        auto_model: Any = AutoModelForImageTextToText  # its stubs type from_pretrained oddly
        try:
            model = auto_model.from_pretrained(self.name, **model_kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"model {self.spec!r}: cannot load the weights: {exc}") from exc
        model.to(self.device)
        model.eval()

        self._processor = processor
        self._model = model
        self._image_token_id = self._find_image_token_id(model, processor)
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        self._eos_ids = {int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None}
        pad = model.generation_config.pad_token_id
        self._pad_id = int(pad if pad is not None else tokenizer.pad_token_id)
        n_params = sum(p.numel() for p in model.parameters())
        _progress(
            f"loaded {self.name} ({n_params / 1e6:.1f} M parameters) "
            f"in {time.monotonic() - started:.1f} s"
        )

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
        if self._model is None:
            return
        on_gpu = self.device != "cpu"
        self._model = None
        self._processor = None
        self._text_pools.clear()
        if on_gpu:
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
        image = None
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
        return _Prepared(
            index,
            request,
            self.chat_text(request.prompt, image is not None),
            image,
            self.max_new_tokens_for(request),
        )

    def _encode(self, texts: list[str], images: list[Any]) -> Any:
        inputs = self._processor(
            text=texts, images=images or None, padding=True, return_tensors="pt"
        )
        import torch

        return inputs.to(self.device, dtype=getattr(torch, self.dtype))

    def batches(self, prepared: Sequence[_Prepared]) -> list[list[_Prepared]]:
        """Requests without an image, then with one; smaller first; ``batch_size`` each."""
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
        if not requests:
            return []
        self.load()
        prepared = [self._prepare(i, r) for i, r in enumerate(requests)]
        responses: list[Response | None] = [None] * len(requests)
        for batch in self.batches(prepared):
            for p, response in zip(batch, self._generate_batch(batch), strict=True):
                responses[p.index] = response
        if self.probe:
            responses = [
                self._with_probe(p, response) if response is not None else None
                for p, response in zip(prepared, responses, strict=True)
            ]
        if any(r is None for r in responses):  # pragma: no cover - batches cover all
            raise ModelError("internal error: a request got no response")
        return [r for r in responses if r is not None]

    def _generate_batch(self, batch: list[_Prepared]) -> list[Response]:
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
        budget = max(p.max_new_tokens for p in batch)
        with torch.inference_mode():
            output = self._model.generate(
                **inputs,
                do_sample=False,
                num_beams=1,
                temperature=None,
                top_p=None,
                top_k=None,
                max_new_tokens=budget,
                pad_token_id=self._pad_id,
            )
        new_tokens = output[:, prompt_len:].tolist()
        results = []
        for row, p in enumerate(batch):
            tokens = new_tokens[row][: p.max_new_tokens]
            stop = next((i for i, t in enumerate(tokens) if t in self._eos_ids), None)
            kept = tokens if stop is None else tokens[:stop]
            text = self._processor.tokenizer.decode(
                kept, skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            n_visual = visual[row] if p.image is not None else None
            results.append(
                Response(
                    text=text,
                    n_visual_tokens=None if n_visual is None else int(n_visual),
                    extra={
                        "prompt_tokens": int(prompt_tokens[row]),
                        "new_tokens": len(kept),
                        "finish_reason": "length" if stop is None else "stop",
                    },
                )
            )
        return results

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
