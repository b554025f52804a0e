"""Greedy generation over batches of prepared requests, for a loaded transformers model.

Decoding is plain greedy search with the checkpoint's stop tokens and nothing else from its
generation config (``hf_decoding``). A batch runs once to its longest budget and each row is
cut to its own, which is what each request would get alone (greedy is prefix-stable). A
batch that fails gives each of its requests the failure as its ``error`` and the other
batches go on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_checks.models.base import Response
from rest_checks.models.hf_loading import Loaded
from rest_checks.models.hf_preprocess import Prepared, Preprocessor, batches
from rest_checks.models.hf_probe_pools import ProbePools
from rest_checks.prompts import Request

if TYPE_CHECKING:
    import torch


@dataclass
class Decoded:
    """One row of a batch after greedy search."""

    tokens: list[int]  # the answer's tokens, without the stop token
    stopped: bool  # a stop token ended it (else the budget did)
    prompt_tokens: int
    n_visual: int | None
    scores: Any = None  # torch.Tensor [steps, vocab] when asked for


def batch_error_message(spec: str, batch: Sequence[Prepared], exc: BaseException) -> str:
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


Decode = Callable[[list[Prepared], bool], list[Decoded]]


class Generator:
    """Answers batches with the model of ``loaded``; with ``pools``, image and mixed
    replies carry the representation probe. Batches are decoded by ``decode`` (by default
    ``Generator.decode``), so that the model composing this can watch every batch."""

    def __init__(
        self,
        loaded: Loaded,
        pre: Preprocessor,
        spec: str,
        pools: ProbePools | None,
        decode: Decode | None = None,
    ) -> None:
        self.loaded = loaded
        self.pre = pre
        self.spec = spec
        self.pools = pools
        self.decode_rows: Decode = decode or self.decode

    def answer_batch(self, batch: list[Prepared]) -> list[Response]:
        """One batch's replies; when the processor or ``generate`` fails on it, each of its
        requests gets the failure as its ``error`` (as an API request that fails for good
        does) and the other batches go on."""
        try:
            responses = self.generate_batch(batch)
            if self.pools is not None:
                probe = self.pools.with_probe
                responses = [probe(p, r) for p, r in zip(batch, responses, strict=True)]
            return responses
        except Exception as exc:  # any failure of this batch is its requests'
            message = batch_error_message(self.spec, batch, exc)
            return [Response("", error=message) for _ in batch]

    def generate_batch(self, batch: list[Prepared]) -> list[Response]:
        results = []
        for decoded in self.decode_rows(batch, False):
            text = self.loaded.processor.tokenizer.decode(
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

    def step_scores(self, requests: Sequence[Request], batch_size: int) -> list[torch.Tensor]:
        """The scores greedy search chose from at each step of each request's answer: one
        float32 ``[steps, vocab]`` tensor per request (the steps up to and including its stop
        token), batched as requests outside a fixed order are (``batches``)."""
        prepared = [self.pre.prepare(i, r) for i, r in enumerate(requests)]
        out: list[Any] = [None] * len(requests)
        for batch in batches(prepared, batch_size):
            for p, decoded in zip(batch, self.decode_rows(batch, True), strict=True):
                out[p.index] = decoded.scores
        return out

    def decode(self, batch: list[Prepared], with_scores: bool = False) -> list[Decoded]:
        """Greedy search over one batch (rows with and without images may be mixed)."""
        import torch

        inputs = self.pre.encode(
            [p.chat_text for p in batch], [p.image for p in batch if p.image is not None]
        )
        input_ids = inputs["input_ids"]
        prompt_len = int(input_ids.shape[1])
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        image_token_id = self.loaded.image_token_id
        if image_token_id is not None:
            visual = (input_ids == image_token_id).sum(dim=1).tolist()
        else:
            visual = [None] * len(batch)
        # Greedy is prefix-stable: one run to the longest budget, then each row is cut to
        # its own, gives what each request would get alone.
        config = copy.deepcopy(self.loaded.generation)
        config.max_new_tokens = max(p.max_new_tokens for p in batch)
        config.output_scores = with_scores
        config.return_dict_in_generate = True
        with torch.inference_mode():
            output = self.loaded.model.generate(**inputs, generation_config=config)
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
                Decoded(
                    tokens=tokens if stop is None else tokens[:stop],
                    stopped=stop is not None,
                    prompt_tokens=int(prompt_tokens[row]),
                    n_visual=None if n_visual is None else int(n_visual),
                    scores=scores,
                )
            )
        return decoded
