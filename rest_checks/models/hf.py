"""Local Hugging Face transformers models (``hf:REPO_OR_PATH`` and aliases such as ``qwen2-vl``).

Loads any image-text-to-text model through ``AutoProcessor`` and
``AutoModelForImageTextToText`` and prompts it through the processor's own chat template,
with the image first and the prompt text after it. Decoding is greedy. Requests are
generated in batches of ``batch_size`` with left padding, images handed to the processor
one list per row; requests with and without an image are batched apart. The batches have
fixed boundaries, cut from the whole run's order (``fixed_batches``), so which requests
share a batch never depends on the cache, ``-k`` or ``-n``; a batch that fails gives its
requests the error and the others go on.

``HFModel`` composes one module per job:

- ``hf_settings``: the ``settings`` a model takes, checked (``setting_rules``);
- ``hf_checkpoint``: what the checkpoint says before loading (model type, dtype and
  placement from ``hf_placement``, pixel budget, stop tokens, image fitting, content
  fingerprint), and the identity it makes;
- ``hf_loading``: the processor, checked to keep every page whole, and the weights; a
  model that cannot load raises one ``ModelLoadError`` naming the file and the fix
  (``hf_load_errors``), remembered so nothing loads twice;
- ``hf_preprocess``: chat text, pages as each family's processor takes them
  (``hf_images``), batching by kind and size;
- ``hf_generation``: greedy search per batch (``hf_decoding``), decoding, step scores;
- ``hf_batch_stream``: the run's fixed batches and the replies kept for later;
- ``hf_probe_pools``: the representation probe's pooled hidden states (``hf_probe``).

Batch composition can change greedy answers in bfloat16 on a GPU (docs/gpu.md), so the batch
size is part of the model identity, as are the device kind and device map, the dtype, the
stop tokens, how images are fitted, the pinned pixel budget of the Qwen families and
``trust_remote_code``. A local checkpoint is named by its content (``checkpoint_identity``).

torch and transformers are imported only when a model is built. The weights are loaded on
the first ``generate`` (or ``load()``), so a run answered entirely from the cache never
loads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rest_checks.items.base import Item
from rest_checks.models import hf_load_errors, setting_rules
from rest_checks.models.base import (
    Collected,
    Model,
    ModelError,
    ModelLoadError,
    ReplySink,
    Response,
)
from rest_checks.models.hf_batch_stream import BatchStream
from rest_checks.models.hf_checkpoint import model_identity, read_checkpoint
from rest_checks.models.hf_generation import Decoded, Generator
from rest_checks.models.hf_loading import Loaded, Loader, release
from rest_checks.models.hf_preprocess import Prepared, Preprocessor, batches
from rest_checks.models.hf_probe_pools import ProbePools
from rest_checks.models.hf_settings import SETTINGS, hf_settings_from
from rest_checks.models.pixels import QWEN_PIXEL_BUDGET
from rest_checks.prompts import Request

if TYPE_CHECKING:
    import torch

__all__ = ["SETTINGS", "HFModel", "default_qwen_pixels"]


def default_qwen_pixels() -> dict[str, int]:
    """The pixel budget pinned for Qwen2-VL-family models when the user sets none."""
    return dict(QWEN_PIXEL_BUDGET)


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
        self.settings = hf_settings_from(spec, settings or {})
        setting_rules.check(f"model {spec!r}", "batch_size", batch_size)
        self.spec = spec
        self.name = name
        self.batch_size = batch_size
        self.probe = probe
        try:
            import torch  # noqa: F401 - the backend cannot work without it
            import transformers  # noqa: F401
        except ImportError as exc:
            raise hf_load_errors.explain(
                exc, spec=spec, name=name, stage="the hf backend"
            ) from None
        self.checkpoint = read_checkpoint(name, spec, self.settings, device, dtype)
        self.device: str = self.checkpoint.placement.device
        self._loader = Loader(spec, self.checkpoint, self.settings)
        self._load_failure: ModelLoadError | None = None
        # What loading puts in memory, shared by the pieces below.
        self._loaded = Loaded(input_device=self.device)
        self._pre = Preprocessor(
            self._loaded,
            image_fit=self.checkpoint.image_fit,
            dtype=self.checkpoint.dtype,
            max_new_tokens_cap=self.settings.max_new_tokens_cap,
        )
        self._pools = ProbePools(self._loaded, self._pre, spec)
        self._generator = Generator(
            self._loaded,
            self._pre,
            spec,
            self._pools if probe else None,
            # Every batch is decoded through ``_decode``, looked up at each call: the one
            # place to watch (or, in tests, record) the batches.
            decode=lambda batch, with_scores: self._decode(batch, with_scores),
        )
        self._stream = BatchStream(self._pre, self._generator.answer_batch)

    @property
    def eos_ids(self) -> list[int]:
        """The checkpoint's stop tokens (empty: the tokenizer's, once loaded)."""
        return self.checkpoint.eos_ids

    @property
    def image_fit(self) -> str:
        return self.checkpoint.image_fit

    @property
    def dtype(self) -> str:
        return self.checkpoint.dtype

    def identity(self) -> dict[str, Any]:
        return model_identity(self.checkpoint, self.settings, self.batch_size, self.probe)

    # -- loading -----------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._loaded.model is not None

    # The loaded model and processor, read (and, in tests, replaced) where every piece
    # reads them.
    @property
    def _model(self) -> Any:
        return self._loaded.model

    @_model.setter
    def _model(self, model: Any) -> None:
        self._loaded.model = model

    @property
    def _processor(self) -> Any:
        return self._loaded.processor

    @_processor.setter
    def _processor(self, processor: Any) -> None:
        self._loaded.processor = processor

    def load(self) -> None:
        """Load the processor and the weights now (``generate`` does it on first use).

        A failure is a ``ModelLoadError`` that says what failed, the file and the fix; it is
        remembered, so every later call raises it again without loading anything."""
        if self.loaded:
            return
        if self._load_failure is not None:
            raise self._load_failure
        try:
            self._loader.load_into(self._loaded)
        except ModelLoadError as exc:
            self._load_failure = exc
        except ModelError as exc:  # e.g. a pixel budget not taken, accelerate missing
            self._load_failure = ModelLoadError(str(exc))
        if self._load_failure is not None:
            self.close()
            raise self._load_failure

    def close(self) -> None:
        self._pools.clear()
        release(self._loaded, self.device)

    # -- preprocessing -----------------------------------------------------------------

    def max_new_tokens_for(self, request: Request) -> int:
        return self._pre.max_new_tokens_for(request)

    def chat_text(self, prompt: str, with_image: bool) -> str:
        """The prompt after the processor's chat template, ready for generation."""
        return self._pre.chat_text(prompt, with_image)

    # ``_prepare``, ``_encode``, ``_decode`` and ``_hidden_states``: one step alone, for the
    # tests that check a step on a loaded model.
    def _prepare(self, index: int, request: Request) -> Prepared:
        return self._pre.prepare(index, request)

    def _encode(self, texts: list[str], images: list[Any]) -> Any:
        return self._pre.encode(texts, images)

    def batches(self, prepared: Sequence[Prepared]) -> list[list[Prepared]]:
        """Requests outside the run's fixed order (or all, when none was given): without an
        image, then with one; smaller first; ``batch_size`` each."""
        return batches(prepared, self.batch_size)

    # -- generation --------------------------------------------------------------------

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        collected = Collected(len(requests))
        self.stream(requests, collected)
        return collected.replies()

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        """Generate batch by batch (``hf_batch_stream``), handing each batch's replies to
        ``sink`` as soon as the batch is done."""
        if not requests:
            return
        self.load()
        self._stream.stream(requests, sink, self.batch_size)

    def fix_order(self, requests: Sequence[Request]) -> None:
        self._stream.fix_order(requests, self.batch_size)

    def step_scores(self, requests: Sequence[Request]) -> list[torch.Tensor]:
        """The scores greedy search chose from at each step of each request's answer: one
        float32 ``[steps, vocab]`` tensor per request (the steps up to and including its stop
        token), batched as ``generate`` batches requests outside a fixed order (``batches``).
        What "batched equals one at a time" is measured on."""
        if not requests:
            return []
        self.load()
        return self._generator.step_scores(requests, self.batch_size)

    def _decode(self, batch: list[Prepared], with_scores: bool = False) -> list[Decoded]:
        return self._generator.decode(batch, with_scores)

    # -- representation probe ----------------------------------------------------------

    def _hidden_states(self, inputs: Any) -> Sequence[torch.Tensor]:
        return self._pools.hidden_states(inputs)

    def image_pool(self, request: Request) -> tuple[torch.Tensor, int]:
        """Per-layer mean hidden state over the image tokens of ``request``, and their count."""
        self.load()
        return self._pools.image_pool(request)

    def text_pools(self, item: Item) -> dict[str, Any]:
        """Per-layer mean hidden states over the content tokens of the item's text request:
        ``{"full_text": (tensor, n_tokens), "context": (tensor, n_tokens) | None}``."""
        cached = self._pools.cached_text_pools(item)
        if cached is not None:
            return cached
        self.load()
        return self._pools.text_pools(item)
