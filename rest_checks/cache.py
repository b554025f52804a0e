"""Content-addressed response cache on disk.

One file per response, named by the hash of (model identity, generation settings, prompt,
page key). An image is keyed by what determines its bytes (``render.page_key``), so a
request answered from the cache renders nothing. Files are written to a temporary name
and renamed into place, so concurrent xdist workers never see half a file and never lock
each other out. The model gateway (``rest_checks.model_gateway``) is its only user.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from rest_checks.atomic import describe_os_error, remove_stale_temps, write_atomic
from rest_checks.models.base import Response
from rest_checks.progress import say
from rest_checks.prompts import Request

log = logging.getLogger("rest_checks.cache")

# 2: images keyed by their page key instead of the hash of their bytes.
CACHE_FORMAT = 2


def request_key(identity: dict[str, Any], request: Request) -> str:
    """The cache key: everything that can change the answer, and nothing else.

    The modality and item id are left out on purpose: the same prompt and image asked
    twice are the same call. The image enters by its page key, so no page is rendered here.
    """
    return keyed_request(identity_json(identity), request)


def identity_json(identity: dict[str, Any]) -> str:
    """A model identity as it enters :func:`keyed_request` (encoded once per run)."""
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)


def keyed_request(identity: str, request: Request) -> str:
    """:func:`request_key` for an identity encoded by :func:`identity_json`: the SHA-256
    of the JSON object of the format, identity, max_tokens, page key and prompt, in that
    (sorted) order, written out here because a run computes tens of thousands of them."""
    page = request.image
    blob = (
        f'{{"format":{CACHE_FORMAT},"identity":{identity},'
        f'"max_tokens":{json.dumps(request.max_tokens, default=str)},'
        f'"page":{json.dumps(page.key if page is not None else "")},'
        f'"prompt":{json.dumps(request.prompt)}}}'
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """A directory of JSON responses, two hex characters of fan-out deep."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._root = str(self.directory)
        # Why the cache stopped taking replies (a full disk, a read-only folder), once
        # a write failed: said once, and the run goes on with its replies in memory.
        self.write_error: str | None = None
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # A string, not a Path: a cached run looks up tens of thousands of entries.
        return f"{self._root}/{key[:2]}/{key}.json"

    def get(self, key: str) -> Response | None:
        """The stored reply, or None. An entry that is not a whole, well-formed reply
        stored under this key is never served: it is reported and asked again."""
        path = self._file(key)
        try:
            with open(path, encoding="utf-8") as entry:
                data = json.loads(entry.read())
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

    def has(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (not whether it can be served)."""
        return os.path.exists(self._file(key))

    def put(self, key: str, response: Response) -> bool:
        """Store a reply; ``False`` when the cache cannot take it. The first failed write
        is said once (one line), and no later write is tried: the run keeps its replies
        in memory instead of failing each test on the same disk."""
        if self.write_error is not None:
            return False
        payload = json.dumps({"key": key, "response": response.to_json()}, default=str)
        try:
            write_atomic(self._path(key), payload, durable=False)
        except OSError as exc:
            with self._lock:
                first = self.write_error is None
                self.write_error = describe_os_error(exc)
            if first:
                message = (
                    f"the response cache {self.directory} cannot be written "
                    f"({self.write_error}); this run keeps its replies in memory and stores "
                    "no more of them"
                )
                log.warning("%s", message)
                say(message)
            return False
        return True

    def remove_stale_temps(self) -> int:
        """Remove the temporary files killed runs left in the cache; how many went."""
        folders = [self.directory]
        try:
            folders += [Path(e.path) for e in os.scandir(self.directory) if e.is_dir()]
        except OSError:
            return 0
        return sum(remove_stale_temps(folder) for folder in folders)


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
