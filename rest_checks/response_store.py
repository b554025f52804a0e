"""The response cache on disk: one folder per model identity, one file per reply.

``<cache>/<identity key>/model.txt`` describes the model (its identity, without secrets)
and ``<cache>/<identity key>/<2 hex>/<sha256>.json`` holds one reply each. The key of a
reply names both: the identity's folder and the SHA-256 of (format, identity, answer
budget, page key, prompt). An image is keyed by what determines its bytes
(its page key), so a request answered from the cache renders nothing. Files are
written to a temporary name and renamed into place (``atomic.write_atomic``), so
concurrent xdist workers, and ``rest-checks cache`` pruning beside a run, never see half a
file and never lock each other out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from rest_checks.atomic import describe_os_error, remove_stale_temps, write_atomic
from rest_checks.models.base import Response, identity_json, identity_key
from rest_checks.progress import say
from rest_checks.prompts import Request

__all__ = [
    "CACHE_FORMAT",
    "DESCRIPTION_FILE",
    "ResponseCache",
    "describe_identity",
    "identity_json",
    "keyed_request",
    "read_description",
    "request_key",
]

log = logging.getLogger("rest_checks.cache")

# The format of keys and of the folder layout. It enters every key, so entries written
# under another format are never found (docs/cache.md says what changed and when).
CACHE_FORMAT = 3
# Each model folder's description of the identity its replies belong to: text, not
# ``.json``, so that every ``*.json`` file of the cache is a reply.
DESCRIPTION_FILE = "model.txt"
# A reply read from the cache has its file's time set to now when that time is older than
# this, so the time says when it was last used (to within a day) at one write a day.
MARK_USED_AFTER_S = 24 * 3600.0
# Identity fields a description never shows, whatever a backend put there: the identity
# must hold no secret, and the description is the one place that writes it out.
_SECRET_FIELD = re.compile(
    r"^(api[_-]?key|key|token|secret|password|passwd|authorization|credentials?)$"
    r"|[_-](key|token|secret|password)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(r"^(sk-[A-Za-z0-9_-]{8,}|bearer\s+\S+)$", re.IGNORECASE)

# The identity folder of each encoded identity, and the identity each folder holds. Learnt
# when keys are made, so the store can describe a folder the first time it writes there
# without every caller handing it the identity besides the key (a process sees a few).
_FOLDER_OF: dict[str, str] = {}
_IDENTITY_IN: dict[str, str] = {}


def request_key(identity: dict[str, Any], request: Request) -> str:
    """The cache key: everything that can change the answer, and nothing else.

    The modality and item id are left out on purpose: the same prompt and image asked
    twice are the same call. The image enters by its page key, so no page is rendered here.
    """
    return keyed_request(identity_json(identity), request)


def keyed_request(identity: str, request: Request) -> str:
    """:func:`request_key` for an identity encoded by :func:`identity_json`:
    ``<identity key>/<sha256>``, the SHA-256 of the JSON object of the format, identity,
    max_tokens, page key and prompt, in that (sorted) order, written out here because a
    run computes tens of thousands of them."""
    folder = _FOLDER_OF.get(identity)
    if folder is None:
        folder = _FOLDER_OF[identity] = identity_key(identity)
        _IDENTITY_IN[folder] = identity
    page = request.image
    blob = (
        f'{{"format":{CACHE_FORMAT},"identity":{identity},'
        f'"max_tokens":{json.dumps(request.max_tokens, default=str)},'
        f'"page":{json.dumps(page.key if page is not None else "")},'
        f'"prompt":{json.dumps(request.prompt)}}}'
    )
    return f"{folder}/{hashlib.sha256(blob.encode()).hexdigest()}"


def describe_identity(identity: dict[str, Any]) -> str:
    """What a model folder's ``model.txt`` says: the model (``backend:name``) on its first
    line, then the identity as JSON, with any field or value that looks like a credential
    left out."""
    backend, name = identity.get("backend"), identity.get("name")
    label = f"{backend}:{name}" if backend and name and name != backend else backend or name
    shown = json.dumps(_without_secrets(identity), indent=2, sort_keys=True, default=str)
    first_line = " ".join(str(label or "unnamed model").split())  # the label is one line
    return (
        f"{first_line}\n"
        f"The replies in this folder are this model's (rest-checks response cache, format "
        f"{CACHE_FORMAT}). Its identity, as the cache keys it:\n{shown}\n"
    )


def read_description(text: str) -> tuple[str, dict[str, Any] | None]:
    """The model and identity a ``model.txt`` names (the identity ``None`` if unreadable)."""
    label, _, rest = text.partition("\n")
    start = rest.find("{")
    try:
        identity = json.loads(rest[start:]) if start >= 0 else None
    except ValueError:
        identity = None
    return label.strip(), identity if isinstance(identity, dict) else None


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_secrets(v) for k, v in value.items() if not _SECRET_FIELD.search(str(k))
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value.strip()):
        return "***"
    return value


class ResponseCache:
    """A directory of JSON replies: a folder per model identity, two hex characters of
    fan-out deep within it."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._root = str(self.directory)
        # Why the cache stopped taking replies (a full disk, a read-only folder), once
        # a write failed: said once, and the run goes on with its replies in memory.
        self.write_error: str | None = None
        # The run storing replies here: written into each entry, so that a reply another
        # xdist worker of the same run stored is told from an earlier run's (not a key
        # part: any run may serve any entry).
        self.run_id: str | None = None
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # A string, not a Path: a cached run looks up tens of thousands of entries.
        folder, _, digest = key.rpartition("/")
        return f"{self._root}/{folder}/{digest[:2]}/{digest}.json"

    def get(self, key: str) -> Response | None:
        """The stored reply, or None. An entry that is not a whole, well-formed reply
        stored under this key is never served: it is reported and asked again."""
        found = self.get_entry(key)
        return None if found is None else found[0]

    def get_entry(self, key: str) -> tuple[Response, bool] | None:
        """The stored reply and whether this run (``run_id``) stored it, or None."""
        path = self._file(key)
        try:
            with open(path, encoding="utf-8") as entry:
                data = json.loads(entry.read())
                written = os.fstat(entry.fileno()).st_mtime
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as exc:
            log.warning("cache entry %s is unreadable (%s); asking the model again", path, exc)
            return None
        problem = _entry_problem(data, key)
        if problem:
            log.warning("cache entry %s %s; asking the model again", path, problem)
            return None
        if time.time() - written > MARK_USED_AFTER_S:
            _mark_used(path)
        ours = self.run_id is not None and data.get("run") == self.run_id
        return Response.from_json(data["response"]), ours

    def has(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (not whether it can be served)."""
        return os.path.exists(self._file(key))

    def put(self, key: str, response: Response) -> bool:
        """Store a reply; ``False`` when the cache cannot take it. The first failed write
        is said once (one line), and no later write is tried: the run keeps its replies
        in memory instead of failing each test on the same disk."""
        if self.write_error is not None:
            return False
        entry = {"key": key, "response": response.to_json()}
        if self.run_id is not None:
            entry["run"] = self.run_id
        payload = json.dumps(entry, default=str)
        folder = key.rpartition("/")[0]
        try:
            try:
                self._write(folder, key, payload)
            except FileNotFoundError:
                # The model's folder went between making it and writing in it: cleared
                # by ``rest-checks cache`` beside this run. Made again, with its description.
                self._write(folder, key, payload)
        except OSError as exc:
            self._stop_writing(exc)
            return False
        return True

    def _write(self, folder: str, key: str, payload: str) -> None:
        self._describe(folder)
        write_atomic(self._path(key), payload, durable=False)

    def _describe(self, folder: str) -> None:
        """Write the folder's description unless it is there (or the identity unknown).
        Looked for at every reply stored (one ``stat`` beside a model call), so a folder
        cleared while this run goes on is described again."""
        description = f"{self._root}/{folder}/{DESCRIPTION_FILE}"
        identity = _IDENTITY_IN.get(folder)
        if folder and identity is not None and not os.path.exists(description):
            text = describe_identity(json.loads(identity))
            write_atomic(Path(description), text, durable=False)

    def _stop_writing(self, exc: OSError) -> None:
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

    def remove_stale_temps(self) -> int:
        """Remove the temporary files killed runs left in the cache; how many went."""
        return sum(remove_stale_temps(folder) for folder in cache_folders(self.directory))


def cache_folders(directory: Path) -> list[Path]:
    """The cache folder and every folder in it two levels deep (model folders and their
    fan-out folders; the fan-out folders of the earlier layout), where temporary files lie."""
    top = subfolders(directory)
    return [directory, *top, *(inner for folder in top for inner in subfolders(folder))]


def subfolders(folder: Path) -> list[Path]:
    """The folders in ``folder`` (none when it cannot be read)."""
    try:
        return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def _mark_used(path: str) -> None:
    # Another user's shared cache, or a read-only one: the time stays as written.
    with contextlib.suppress(OSError):
        os.utime(path)


def _entry_problem(data: Any, key: str) -> str | None:
    """What is wrong with a cache entry, or None when it can be served."""
    if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
        return "has no response table"
    if data.get("key") != key:
        held = str(data.get("key")).rpartition("/")[2]
        return f"holds key {held[:16]!r}, not the key of its name"
    response = data["response"]
    if not isinstance(response.get("text"), str):
        return "has a reply text that is not a string"
    if not isinstance(response.get("extra", {}), dict):
        return "has extras that are not a table"
    tokens = response.get("n_visual_tokens")
    if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool)):
        return "has a visual token count that is not an integer"
    return None
