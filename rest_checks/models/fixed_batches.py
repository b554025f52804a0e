"""Batches with fixed boundaries: the same request always shares its batch with the same
others, whatever the cache holds, ``-k`` selects or ``-n`` shares out.

In bfloat16 on a GPU, which requests share a batch changes greedy answers (docs/gpu.md).
A batching backend that formed its batches from the requests it is asked would answer a
resumed run (only the misses), a ``-k`` run or an xdist worker's share differently from a
full run of the same identity. So the run hands the backend every request of the configured
run in the suite's fixed order (``Model.fix_order``); requests without an image and with
one are chunked apart, in that order, into batches of ``batch_size``. A request asked later
is generated with the whole fixed batch it belongs to (the backend keeps its companions'
replies a while, for when they are asked in turn), never with whatever else happens to be
asked. Requests outside the order (the Hypothesis check's random renderings)
are batched among themselves.

Pure bookkeeping: no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rest_checks.prompts import Request

#: What makes two requests the same call: modality, prompt, page content and budget.
RequestKey = tuple[str, str, str | None, int]


def request_key(request: Request) -> RequestKey:
    page = request.image
    return (
        request.modality,
        request.prompt,
        None if page is None else page.key,
        request.max_tokens,
    )


@dataclass
class Wanted:
    """One fixed batch to generate: its members in order, and which asked request
    indexes each member answers."""

    members: list[Request]
    asked: dict[RequestKey, list[int]] = field(default_factory=dict)


@dataclass
class FixedBatches:
    """The fixed batches of a run's order."""

    batches: list[list[Request]]
    where: dict[RequestKey, int]

    @classmethod
    def of(cls, order: Sequence[Request], batch_size: int) -> FixedBatches:
        """Chunk ``order`` (duplicates dropped) into batches of ``batch_size``, requests
        without an image first, then those with one, each kind in its order."""
        batches: list[list[Request]] = []
        where: dict[RequestKey, int] = {}
        for with_image in (False, True):
            group: list[Request] = []
            for request in order:
                key = request_key(request)
                if (request.image is not None) == with_image and key not in where:
                    where[key] = -1  # taken; numbered below
                    group.append(request)
            for start in range(0, len(group), batch_size):
                chunk = group[start : start + batch_size]
                for request in chunk:
                    where[request_key(request)] = len(batches)
                batches.append(chunk)
        return cls(batches, where)

    def split(self, requests: Sequence[Request]) -> tuple[list[Wanted], list[int]]:
        """The fixed batches that answer ``requests`` (in batch order), and the indexes of
        the requests outside the order."""
        wanted: dict[int, Wanted] = {}
        loose: list[int] = []
        for index, request in enumerate(requests):
            key = request_key(request)
            number = self.where.get(key)
            if number is None:
                loose.append(index)
                continue
            entry = wanted.setdefault(number, Wanted(list(self.batches[number])))
            entry.asked.setdefault(key, []).append(index)
        return [wanted[n] for n in sorted(wanted)], loose
