"""Content-addressed response cache on disk.

One file per response, named by the hash of (model identity, generation settings, prompt,
image bytes). Files are written to a temporary name and renamed into place, so concurrent
xdist workers never see half a file and never lock each other out, and a run killed midway
keeps every response it had finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks.models.base import Model, Response
from rest_checks.prompts import Request

CACHE_FORMAT = 1


def request_key(identity: dict[str, Any], request: Request) -> str:
    """The cache key: everything that can change the answer, and nothing else.

    The modality and item id are left out on purpose: the same prompt and image asked
    twice are the same call.
    """
    image_hash = hashlib.sha256(request.image_png).hexdigest() if request.image_png else ""
    blob = json.dumps(
        {
            "format": CACHE_FORMAT,
            "identity": identity,
            "prompt": request.prompt,
            "image_sha256": image_hash,
            "max_tokens": request.max_tokens,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """A directory of JSON responses, two hex characters of fan-out deep."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Response | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError):
            # A damaged entry is a miss: the call is simply made again.
            return None
        try:
            return Response.from_json(data["response"])
        except (KeyError, TypeError):
            return None

    def put(self, key: str, response: Response) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"key": key, "response": response.to_json()}, default=str)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, path)  # atomic on POSIX: readers see the old or the new file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass
class CallCounter:
    """How many requests went to the model and how many the cache answered."""

    model_calls: int = 0
    cache_hits: int = 0


class CachingModel:
    """Serves requests from the cache and sends only the misses to the model.

    Misses go to the model in chunks and each chunk is stored as soon as it returns, so a
    killed run loses at most one chunk of work. Responses of this process are also kept in
    memory, so a batch asked ahead of the tests serves them even without a disk cache.
    """

    def __init__(self, model: Model, cache: ResponseCache | None, chunk_size: int = 64) -> None:
        self.model = model
        self.cache = cache
        self.chunk_size = max(1, chunk_size)
        self.counter = CallCounter()
        self.identity = model.identity()
        self._memory: dict[str, Response] = {}

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        results: list[Response | None] = [None] * len(requests)
        keys = [request_key(self.identity, r) for r in requests]
        missing: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            cached = self._memory.get(key)
            if cached is None and self.cache is not None:
                cached = self.cache.get(key)
            if cached is not None:
                results[index] = cached
                self.counter.cache_hits += 1
            else:
                # The same call asked twice in one batch is made once.
                missing.setdefault(key, []).append(index)
        todo = list(missing.items())
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            responses = self.model.generate([requests[indexes[0]] for _, indexes in chunk])
            self.counter.model_calls += len(chunk)
            for (key, indexes), response in zip(chunk, responses, strict=True):
                self._memory[key] = response
                if self.cache is not None:
                    self.cache.put(key, response)
                for index in indexes:
                    results[index] = response
        assert all(r is not None for r in results), "every request was answered"
        return [r for r in results if r is not None]
