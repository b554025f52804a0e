"""The representation probe's pooled hidden states for a loaded transformers model
(what is pooled, and why, is ``hf_probe``'s docstring).

The text side of an item is computed with one extra forward pass and kept for the next
calls (``PROBE_CACHE_ITEMS`` items), whether or not the item's text request is in the same
call as its image requests.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rest_checks.items.base import Item
from rest_checks.models import hf_probe
from rest_checks.models.base import ModelError, Response
from rest_checks.models.hf_loading import Loaded
from rest_checks.models.hf_preprocess import Prepared, Preprocessor
from rest_checks.prompts import Request, text_request

if TYPE_CHECKING:
    import torch

# The text pools of this many items are kept for the probe between generate() calls.
PROBE_CACHE_ITEMS = 256


class ProbePools:
    """Mean hidden states per layer over a request's image tokens or an item's text."""

    def __init__(self, loaded: Loaded, pre: Preprocessor, spec: str) -> None:
        self.loaded = loaded
        self.pre = pre
        self.spec = spec
        self._text_pools: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def clear(self) -> None:
        self._text_pools.clear()

    def hidden_states(self, inputs: Any) -> Sequence[torch.Tensor]:
        import torch

        with torch.inference_mode():
            out = self.loaded.model(**inputs, output_hidden_states=True, logits_to_keep=1)
        return tuple(out.hidden_states)

    def image_pool(self, request: Request) -> tuple[torch.Tensor, int]:
        """Per-layer mean hidden state over the image tokens of ``request``, and their count."""
        if request.image_png is None:
            raise ModelError(f"request {request.item_id}/{request.modality} has no image")
        p = self.pre.prepare(0, request)
        inputs = self.pre.encode([p.chat_text], [p.image])
        if self.loaded.image_token_id is None:
            raise ModelError(f"model {self.spec!r}: no image token id to pool over")
        positions = (inputs["input_ids"][0] == self.loaded.image_token_id).nonzero().flatten()
        pooled = hf_probe.mean_pool_layers(self.hidden_states(inputs), positions)
        return pooled, int(positions.numel())

    def cached_text_pools(self, item: Item) -> dict[str, Any] | None:
        """The item's text pools when they are kept, else ``None``."""
        key = (item.id, item.full_text())
        if key in self._text_pools:
            self._text_pools.move_to_end(key)
            return self._text_pools[key]
        return None

    def text_pools(self, item: Item) -> dict[str, Any]:
        """Per-layer mean hidden states over the content tokens of the item's text request:
        ``{"full_text": (tensor, n_tokens), "context": (tensor, n_tokens) | None}``."""
        cached = self.cached_text_pools(item)
        if cached is not None:
            return cached
        import torch

        rendered = self.pre.chat_text(text_request(item).prompt, with_image=False)
        encoded = self.loaded.processor.tokenizer(rendered, return_offsets_mapping=True)
        offsets = [tuple(span) for span in encoded["offset_mapping"]]
        inputs = self.pre.encode([rendered], [])
        if inputs["input_ids"][0].tolist() != list(encoded["input_ids"]):
            raise ModelError(
                f"model {self.spec!r}: the tokenizer's offsets do not match the processor's "
                "tokens; the probe cannot locate the text content"
            )
        states = self.hidden_states(inputs)
        start, end = hf_probe.content_char_span(rendered, item.full_text())
        pools: dict[str, Any] = {"full_text": None, "context": None}
        full = hf_probe.token_positions_in_span(offsets, start, end)
        pools["full_text"] = (hf_probe.mean_pool_layers(states, torch.tensor(full)), len(full))
        if item.context:
            ctx = hf_probe.token_positions_in_span(offsets, start, start + len(item.context))
            pools["context"] = (hf_probe.mean_pool_layers(states, torch.tensor(ctx)), len(ctx))
        self._text_pools[(item.id, item.full_text())] = pools
        while len(self._text_pools) > PROBE_CACHE_ITEMS:
            self._text_pools.popitem(last=False)
        return pools

    def with_probe(self, p: Prepared, response: Response) -> Response:
        """``response`` with ``extra["probe"]`` for an image or mixed request of an item."""
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
