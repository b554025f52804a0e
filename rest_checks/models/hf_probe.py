"""Representation probe of the Hugging Face backend (docs/paper.md, "Internal representations").

For one item, the hidden states of every layer are mean-pooled over the image tokens of an
image (or mixed) request and over the text tokens of the same content in the text request;
the probe is the cosine similarity of the two pooled vectors, layer by layer.

What it measures, exactly:

- **Image side**: every visual token of the request, i.e. every position holding the
  model's image token after the processor has expanded it (one per merged patch for
  Qwen2-VL, one per CLIP patch for LLaVA). That is the whole picture the model saw: the
  page's white margins, and for LLaVA the square padding around the page, are included, so
  a page with more margin pools more near-blank tokens.
- **Text side**: the tokens of the rendered text prompt whose character spans overlap the
  content (``item.full_text()`` for an image request, ``item.context`` for a mixed one,
  whose image holds only the context). The instruction and the chat template around the
  content are left out. A token that straddles the content's edge (e.g. a run of newlines
  merged with the first character) is counted in.
- **Preceding context differs between the sides**: the models are causal, so each hidden
  state depends on what comes before it. The visual tokens follow the chat template's
  system turn and user header only (the image comes first in the user turn, before the
  instruction); the content's text tokens follow the system turn, the user header and the
  reasoning instruction. The two sides are each pooled in their own request, as the model
  answers them.
- **Layers**: index 0 is the embedding layer (for image tokens, the vision encoder's merged
  output as fed to the language model); index ``i`` is the output of decoder layer ``i``,
  except the last, which transformers reports after the final norm (the state the language
  model head reads), not the raw output of the last decoder layer.

Torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def layerwise_cosine(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Cosine similarity of two ``[layers, hidden]`` tensors, one value per layer.

    Computed in float64; a layer where either vector is zero gets 0.0.
    """
    import torch

    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(
            f"layerwise_cosine needs two [layers, hidden] tensors of one shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    dots = (a64 * b64).sum(dim=1)
    norms = a64.norm(dim=1) * b64.norm(dim=1)
    cos = torch.where(norms > 0, dots / norms.clamp_min(1e-300), torch.zeros_like(dots))
    return [max(-1.0, min(1.0, float(v))) for v in cos]


def mean_pool_layers(
    hidden_states: Sequence[torch.Tensor], positions: torch.Tensor
) -> torch.Tensor:
    """Mean of each layer's states over ``positions`` of one sequence -> ``[layers, hidden]``.

    ``hidden_states`` is what a model returns with ``output_hidden_states=True`` for a batch
    of one: one ``[1, seq, hidden]`` tensor per layer. The result is float32 on the CPU.
    """
    import torch

    if positions.numel() == 0:
        raise ValueError("mean_pool_layers: no positions to pool over")
    pooled = [layer[0, positions].float().mean(dim=0) for layer in hidden_states]
    return torch.stack(pooled).cpu()


def content_char_span(rendered: str, content: str, *, after: int = 0) -> tuple[int, int]:
    """Where ``content`` sits in the rendered prompt: ``(start, end)`` character offsets.

    The last occurrence at or after ``after`` is taken: the content follows the instruction
    in every prompt template, and a chat template may put a system prompt before both.
    """
    if not content:
        raise ValueError("content_char_span: empty content")
    start = rendered.rfind(content, after)
    if start < 0:
        raise ValueError(
            f"content_char_span: the content ({content[:40]!r}...) is not in the rendered prompt"
        )
    return start, start + len(content)


def token_positions_in_span(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the tokens whose character span overlaps ``[start, end)``.

    Tokens without characters (offsets ``(0, 0)`` of special or added tokens) are skipped.
    """
    return [
        i
        for i, (tok_start, tok_end) in enumerate(offsets)
        if tok_end > tok_start and tok_start < end and tok_end > start
    ]
