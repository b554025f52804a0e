"""Content-addressed response cache on disk.

One file per response, named by the hash of (model identity, generation settings, prompt,
image bytes). Files are written to a temporary name and renamed into place, so concurrent
xdist workers never see half a file and never lock each other out, and a run killed midway
keeps every response it had finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_checks.atomic import write_atomic
from rest_checks.models.base import Model, Response
from rest_checks.prompts import Request

log = logging.getLogger("rest_checks.cache")

CACHE_FORMAT = 1
# Misses are sent to the model this many at a time and stored as each chunk returns: big
# enough that a wave of API calls rarely waits on the slowest of a chunk.
CHUNK_SIZE = 128


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
        """The stored reply, or None. An entry that is not a whole, well-formed reply
        stored under this key is never served: it is reported and asked again."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as exc:
            log.warning("cache entry %s is unreadable (%s); asking the model again", path, exc)
            return None
        problem = _entry_problem(data, key)
        if problem:
            log.warning("cache entry %s %s; asking the model again", path, problem)
            return None
        return Response.from_json(data["response"])

    def put(self, key: str, response: Response) -> None:
        payload = json.dumps({"key": key, "response": response.to_json()}, default=str)
        write_atomic(self._path(key), payload)


def _entry_problem(data: Any, key: str) -> str | None:
    """What is wrong with a cache entry, or None when it can be served."""
    if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
        return "has no response table"
    if data.get("key") != key:
        return f"holds key {str(data.get('key'))[:16]!r}, not the key of its name"
    response = data["response"]
    if not isinstance(response.get("text"), str):
        return "has a reply text that is not a string"
    if not isinstance(response.get("extra", {}), dict):
        return "has extras that are not a table"
    tokens = response.get("n_visual_tokens")
    if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool)):
        return "has a visual token count that is not an integer"
    return None


@dataclass
class CallCounter:
    """How many requests went to the model and how many the cache answered."""

    model_calls: int = 0
    cache_hits: int = 0


class ModelCalls:
    """Every call to the model under test goes through here: served from this run's
    memory or the disk cache where possible, the misses sent to the model.

    Misses go to the model in chunks and each chunk is stored as soon as it returns, so a
    killed run loses at most one chunk of work. Responses of this process are also kept in
    memory, so a batch asked ahead of the tests serves them even without a disk cache.
    """

    def __init__(
        self, model: Model, cache: ResponseCache | None, chunk_size: int = CHUNK_SIZE
    ) -> None:
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
                if response.error is None:  # a failed request is asked again next time
                    self._memory[key] = response
                    if self.cache is not None:
                        self.cache.put(key, response)
                for index in indexes:
                    results[index] = response
        assert all(r is not None for r in results), "every request was answered"
        return [r for r in results if r is not None]

    def close(self) -> None:
        self.model.close()
