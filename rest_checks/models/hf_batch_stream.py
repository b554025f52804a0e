"""Which requests a transformers model generates together, and when each reply is handed on.

With the run's order given (``fix_order``), a request is generated in its fixed batch
(``fixed_batches``), whole, whatever else is asked in the same call: which requests share a
batch then never depends on the cache, ``-k`` or ``-n``. The companions' replies are kept a
while (``SPARE_REPLIES``) for when they are asked. Requests outside the fixed order, or all
of them without one, are batched by kind and size (``hf_preprocess.batches``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from rest_checks.models.base import ModelError, ReplySink, Response
from rest_checks.models.fixed_batches import FixedBatches, RequestKey, Wanted, request_key
from rest_checks.models.hf_preprocess import Prepared, Preprocessor, batches, on_fresh_page
from rest_checks.prompts import Request

# Replies of fixed-batch companions kept for when they are asked (a run asking case by case).
SPARE_REPLIES = 1024

AnswerBatch = Callable[[list[Prepared]], list[Response]]


class BatchStream:
    """Hands each request's reply to a sink as soon as its batch is answered."""

    def __init__(self, pre: Preprocessor, answer_batch: AnswerBatch) -> None:
        self.pre = pre
        self.answer_batch = answer_batch
        self._fixed: FixedBatches | None = None  # the run's fixed batches (fix_order)
        # Replies computed as companions in a fixed batch, until they are asked.
        self._spare: OrderedDict[RequestKey, Response] = OrderedDict()

    def fix_order(self, requests: Sequence[Request], batch_size: int) -> None:
        self._fixed = FixedBatches.of(requests, batch_size)
        self._spare.clear()

    def stream(self, requests: Sequence[Request], sink: ReplySink, batch_size: int) -> None:
        """Generate batch by batch, handing each batch's replies to ``sink`` as soon as the
        batch is done; a request that cannot be prepared fails alone."""
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
                prepared.append(self.pre.prepare(index, requests[index]))
            except ModelError as exc:
                sink.reply(index, Response("", error=str(exc)))  # this request alone fails
        for batch in batches(prepared, batch_size):
            for p, response in zip(batch, self.answer_batch(batch), strict=True):
                sink.reply(p.index, response)

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
        batch: list[Prepared] = []
        for member in fixed.members:
            asked = fixed.asked.get(request_key(member), [])
            # The asked request itself (same call; it may carry its item for the probe); a
            # companion on a page of its own, so the run's order never holds rendered bytes.
            request = requests[asked[0]] if asked else on_fresh_page(member)
            try:
                batch.append(self.pre.prepare(asked[0] if asked else -1, request))
            except ModelError as exc:
                for index in asked:
                    sink.reply(index, Response("", error=str(exc)))
        if not any(p.index >= 0 for p in batch):
            return
        for p, response in zip(batch, self.answer_batch(batch), strict=True):
            key = request_key(p.request)
            if p.index < 0 and response.error is None:
                self._spare[key] = response
                while len(self._spare) > SPARE_REPLIES:
                    self._spare.popitem(last=False)
            for index in fixed.asked.get(key, []):
                sink.reply(index, response)
