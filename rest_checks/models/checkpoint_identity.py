"""A local checkpoint named by its content.

Two checkpoints with the same directory name (``run1/ckpt``, ``run2/ckpt``) or one retrained
in place must never share cached answers or a baseline, so the identity of an ``hf:`` local
path holds a SHA-256 over the files that decide its answers:

- the weights (``*.safetensors``, ``*.bin``, ``*.pt``, ``*.pth``, ``*.ckpt``, ``*.gguf``);
- the config, generation config, tokenizer, processor and chat-template files, and any
  remote code (``*.json``, ``*.jinja``, ``*.txt``, ``*.model``, ``*.py``, ``*.tiktoken``,
  ``*.vocab``), in subdirectories too;

each by its path relative to the checkpoint and its own SHA-256. Hidden files and
directories (``.git``, ``.cache``) and READMEs, licences and notices are left out: they do
not change an answer.

Hashing a 15 GB checkpoint takes about a minute, so a file's hash is remembered in a small
JSON memo keyed by its absolute path, size and modification time (``HashMemo``; by default
``~/.cache/rest-checks/checkpoint-hashes.json``, or the file named by
``REST_CHECKPOINT_HASHES``): a checkpoint is hashed once per change. A file rewritten with
the same size and modification time is taken as unchanged, as ``make`` and ``rsync`` take it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from rest_checks.atomic import write_atomic

MEMO_ENV = "REST_CHECKPOINT_HASHES"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")
DESCRIBING_SUFFIXES = (".json", ".jinja", ".txt", ".model", ".py", ".tiktoken", ".vocab")
SKIPPED_PREFIXES = ("readme", "license", "licence", "notice", "copying")
# Describing files smaller than this are hashed every time (cheaper than a memo entry);
# weight files always go through the memo.
MEMO_MIN_BYTES = 1 << 20
# The memo keeps the most recent entries only.
MEMO_MAX_ENTRIES = 4096
CHUNK = 8 << 20


def default_memo_path() -> Path:
    explicit = os.environ.get(MEMO_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rest-checks" / "checkpoint-hashes.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashMemo:
    """SHA-256 of large files, remembered by (absolute path, size, mtime). A memo that
    cannot be read starts empty; one that cannot be written is only not remembered."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_memo_path()
        self.hashed: list[Path] = []  # files read in full by this memo (not remembered)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._entries: dict[str, dict[str, object]] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self._entries = {}
        self._dirty = False

    def sha256(self, path: Path, announce: Callable[[Path, int], None] | None = None) -> str:
        path = path.resolve()
        stat = path.stat()
        key = str(path)
        entry = self._entries.get(key)
        if (
            isinstance(entry, dict)
            and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns
            and isinstance(entry.get("sha256"), str)
        ):
            self._entries[key] = self._entries.pop(key)  # most recent last
            return str(entry["sha256"])
        if announce is not None:
            announce(path, stat.st_size)
        digest = file_sha256(path)
        self.hashed.append(path)
        self._entries.pop(key, None)
        self._entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        self._dirty = True
        return digest

    def save(self) -> None:
        if not self._dirty:
            return
        entries = dict(list(self._entries.items())[-MEMO_MAX_ENTRIES:])
        try:
            write_atomic(self.path, json.dumps(entries, indent=0, sort_keys=False))
        except OSError:
            return  # not remembered: the next run hashes again
        self._dirty = False


def identity_files(directory: Path) -> list[Path]:
    """The files of a checkpoint that decide its answers, in path order."""
    out = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file() or path.name.lower().startswith(SKIPPED_PREFIXES):
            continue
        if path.suffix.lower() in WEIGHT_SUFFIXES + DESCRIBING_SUFFIXES:
            out.append(path)
    return out


def content_fingerprint(
    directory: Path,
    memo: HashMemo | None = None,
    announce: Callable[[Path, int], None] | None = None,
) -> str:
    """``sha256:<hex>`` over the checkpoint's identity files (their relative paths and
    SHA-256s); large files' hashes come from ``memo`` when unchanged. ``announce(path,
    size)`` is called before a large file is read in full."""
    memo = memo if memo is not None else HashMemo()
    digest = hashlib.sha256()
    for path in identity_files(directory):
        weights = path.suffix.lower() in WEIGHT_SUFFIXES
        if weights or path.stat().st_size >= MEMO_MIN_BYTES:
            file_hash = memo.sha256(path, announce)
        else:
            file_hash = file_sha256(path)
        relative = path.relative_to(directory).as_posix()
        digest.update(f"{relative}\0{file_hash}\n".encode())
    memo.save()
    return "sha256:" + digest.hexdigest()
