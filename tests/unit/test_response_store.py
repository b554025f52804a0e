"""The response cache on disk: a folder per model identity, described without secrets."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from rest_checks import response_store
from rest_checks.atomic import TEMP_PREFIX
from rest_checks.models.base import Response, identity_key
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.prompts import Request
from rest_checks.response_store import (
    DESCRIPTION_FILE,
    MARK_USED_AFTER_S,
    ResponseCache,
    read_description,
    request_key,
)


def req(prompt: str) -> Request:
    return Request("item-1", "text", prompt, None, 64)


def entry_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json") if not p.name.startswith("."))


def test_each_identity_has_its_own_folder_named_by_its_identity_key(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    first = {"backend": "mock", "name": "oracle"}
    second = {"backend": "mock", "name": "oracle", "settings": {"temperature": 1}}
    for identity in (first, second):
        for prompt in ("a", "b", "c"):
            assert cache.put(request_key(identity, req(prompt)), Response(f"{prompt}!"))
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == sorted([identity_key(first), identity_key(second)])
    for identity in (first, second):
        folder = tmp_path / identity_key(identity)
        assert len(entry_files(folder)) == 3
        # Entries fan out by the first two hex digits of their hash, inside the folder.
        for entry in entry_files(folder):
            assert entry.parent.parent == folder and entry.name.startswith(entry.parent.name)
        assert cache.get(request_key(identity, req("b"))) == Response("b!")


def test_a_folder_describes_its_model_and_identity(tmp_path: Path) -> None:
    identity = {"backend": "hf", "name": "Qwen/Qwen2-VL-2B-Instruct", "dtype": "bfloat16"}
    ResponseCache(tmp_path).put(request_key(identity, req("p")), Response("r"))
    text = (tmp_path / identity_key(identity) / DESCRIPTION_FILE).read_text()
    assert text.splitlines()[0] == "hf:Qwen/Qwen2-VL-2B-Instruct"
    assert read_description(text) == ("hf:Qwen/Qwen2-VL-2B-Instruct", identity)



def test_a_model_name_over_two_lines_keeps_the_label_on_the_first(tmp_path: Path) -> None:
    identity = {"backend": "custom", "name": "two\nlines"}
    ResponseCache(tmp_path).put(request_key(identity, req("p")), Response("r"))
    text = (tmp_path / identity_key(identity) / DESCRIPTION_FILE).read_text()
    assert read_description(text) == ("custom:two lines", identity)


SECRET = "sk-proj-0123456789abcdefSECRET"


def test_a_description_never_holds_a_secret_whatever_the_identity_holds(tmp_path: Path) -> None:
    identity: dict[str, Any] = {
        "backend": "custom",
        "name": "vendor-model",
        "api_key": SECRET,
        "settings": {"auth_token": SECRET, "max_tokens": 64, "header": f"Bearer {SECRET}"},
        "extra": [SECRET],
    }
    ResponseCache(tmp_path).put(request_key(identity, req("p")), Response("r"))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert "SECRET" not in path.read_text(), path
    _, described = read_description(
        (tmp_path / identity_key(identity) / DESCRIPTION_FILE).read_text()
    )
    assert described is not None
    # What changes an answer and is no credential is kept.
    assert described["settings"]["max_tokens"] == 64 and described["name"] == "vendor-model"


def test_an_openai_models_key_reaches_no_file_of_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    model = OpenAIModel(
        "gpt-4o-mini",
        spec="openai:gpt-4o-mini",
        base_url="https://api.example.test/v1/",
        settings={"seed": 3},
    )
    ResponseCache(tmp_path).put(request_key(model.identity(), req("p")), Response("r"))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 2  # the reply and the description
    for path in files:
        assert SECRET not in path.read_text() and "SECRET" not in path.read_text()
    description = (tmp_path / identity_key(model.identity()) / DESCRIPTION_FILE).read_text()
    assert description.startswith("openai:gpt-4o-mini\n")
    assert "https://api.example.test/v1" in description


def test_a_folder_cleared_while_a_run_writes_is_made_again_with_its_description(
    tmp_path: Path,
) -> None:
    cache = ResponseCache(tmp_path)
    identity = {"backend": "mock", "name": "oracle"}
    assert cache.put(request_key(identity, req("a")), Response("a"))
    shutil.rmtree(tmp_path / identity_key(identity))  # rest-checks cache clear, meanwhile
    assert cache.put(request_key(identity, req("b")), Response("b"))
    assert (tmp_path / identity_key(identity) / DESCRIPTION_FILE).exists()
    assert cache.get(request_key(identity, req("b"))) == Response("b")
    assert cache.write_error is None


def test_a_folder_removed_between_making_it_and_writing_in_it_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = response_store.write_atomic
    failures = iter([FileNotFoundError(2, "No such file or directory")])

    def write_once_too_late(path: Path, data: str, *, durable: bool = True) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_write(path, data, durable=durable)

    monkeypatch.setattr(response_store, "write_atomic", write_once_too_late)
    cache = ResponseCache(tmp_path)
    key = request_key({"backend": "mock", "name": "oracle"}, req("a"))
    assert cache.put(key, Response("a")) and cache.write_error is None
    assert cache.get(key) == Response("a")


def test_a_reply_read_is_marked_used_at_most_once_a_day(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = request_key({"backend": "mock", "name": "oracle"}, req("a"))
    cache.put(key, Response("a"))
    (entry,) = entry_files(tmp_path)
    recent = time.time() - 3600
    os.utime(entry, (recent, recent))
    assert cache.get(key) == Response("a")
    assert entry.stat().st_mtime == pytest.approx(recent), "read within the day: left alone"
    old = time.time() - MARK_USED_AFTER_S - 3600
    os.utime(entry, (old, old))
    assert cache.get(key) == Response("a")
    assert entry.stat().st_mtime > time.time() - 60, "read after a day: marked as used now"


def test_a_damaged_entry_is_not_marked_used(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = request_key({"backend": "mock", "name": "oracle"}, req("a"))
    cache.put(key, Response("a"))
    (entry,) = entry_files(tmp_path)
    entry.write_text('{"key": "other", "response": {"text": "x"}}')
    old = time.time() - 3 * MARK_USED_AFTER_S
    os.utime(entry, (old, old))
    assert cache.get(key) is None
    assert entry.stat().st_mtime == pytest.approx(old)


def test_an_entry_of_the_earlier_layout_is_not_found(tmp_path: Path) -> None:
    identity = {"backend": "mock", "name": "oracle"}
    key = request_key(identity, req("a"))
    digest = key.rpartition("/")[2]
    earlier = tmp_path / digest[:2] / f"{digest}.json"  # format 2: no model folder
    earlier.parent.mkdir()
    earlier.write_text(f'{{"key": "{digest}", "response": {{"text": "old"}}}}')
    cache = ResponseCache(tmp_path)
    assert not cache.has(key) and cache.get(key) is None


def test_stale_temporary_files_in_model_folders_are_removed(tmp_path: Path) -> None:
    identity = {"backend": "mock", "name": "oracle"}
    ResponseCache(tmp_path).put(request_key(identity, req("a")), Response("a"))
    (entry,) = entry_files(tmp_path)
    dead = entry.parent / f"{TEMP_PREFIX}999999999-dead.json"  # no such pid
    live = entry.parent / f"{TEMP_PREFIX}{os.getpid()}-live.json"
    for temp in (dead, live):
        temp.write_text("half")
        os.utime(temp, (time.time() - 600, time.time() - 600))
    assert ResponseCache(tmp_path).remove_stale_temps() == 1
    assert not dead.exists() and live.exists(), "a live writer's file is never removed"
