"""A local checkpoint's identity is its content: weights, config, tokenizer, processor and
chat template, hashed once per change through a memo keyed by path, size and mtime."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rest_checks.models.checkpoint_identity import (
    HashMemo,
    content_fingerprint,
    default_memo_path,
    identity_files,
)


def make_checkpoint(directory: Path, weights: bytes = b"\x01" * 64) -> Path:
    directory.mkdir(parents=True)
    (directory / "model.safetensors").write_bytes(weights)
    (directory / "config.json").write_text('{"model_type": "qwen2_vl"}')
    (directory / "generation_config.json").write_text('{"eos_token_id": 2}')
    (directory / "tokenizer.json").write_text('{"model": {}}')
    (directory / "preprocessor_config.json").write_text('{"size": {}}')
    (directory / "chat_template.jinja").write_text("{{ messages }}")
    (directory / "README.md").write_text("A model.")
    return directory


def fingerprint(directory: Path, memo_path: Path) -> str:
    return content_fingerprint(directory, HashMemo(memo_path))


def test_same_name_other_weights_differ(tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    one = make_checkpoint(tmp_path / "run1" / "ckpt")
    two = make_checkpoint(tmp_path / "run2" / "ckpt", weights=b"\x02" * 64)
    same = Path(shutil.copytree(one, tmp_path / "run3" / "ckpt"))
    assert fingerprint(one, memo) != fingerprint(two, memo)
    # Content, not place: a copy elsewhere is the same checkpoint.
    assert fingerprint(one, memo) == fingerprint(same, memo)
    assert fingerprint(one, memo).startswith("sha256:") and len(fingerprint(one, memo)) == 71


@pytest.mark.parametrize(
    "name",
    [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "preprocessor_config.json",
        "chat_template.jinja",
    ],
)
def test_every_describing_file_counts(tmp_path: Path, name: str) -> None:
    memo = tmp_path / "memo.json"
    directory = make_checkpoint(tmp_path / "ckpt")
    before = fingerprint(directory, memo)
    (directory / name).write_text((directory / name).read_text() + " ")
    assert fingerprint(directory, memo) != before


def test_readmes_and_hidden_files_do_not_count(tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    directory = make_checkpoint(tmp_path / "ckpt")
    before = fingerprint(directory, memo)
    (directory / "README.md").write_text("Edited.")
    (directory / "LICENSE.txt").write_text("MIT")
    (directory / ".cache").mkdir()
    (directory / ".cache" / "x.json").write_text("{}")
    assert fingerprint(directory, memo) == before
    names = [p.name for p in identity_files(directory)]
    assert "README.md" not in names and "x.json" not in names
    # A file added in a subdirectory (e.g. extra chat templates) counts.
    (directory / "additional_chat_templates").mkdir()
    (directory / "additional_chat_templates" / "tools.jinja").write_text("{{ tools }}")
    assert fingerprint(directory, memo) != before


def test_retrained_in_place_differs(tmp_path: Path) -> None:
    memo = tmp_path / "memo.json"
    directory = make_checkpoint(tmp_path / "ckpt")
    before = fingerprint(directory, memo)
    weights = directory / "model.safetensors"
    stat = weights.stat()
    weights.write_bytes(b"\x03" * 64)  # same size
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fingerprint(directory, memo) != before


def test_weights_are_hashed_once_per_change(tmp_path: Path) -> None:
    memo_path = tmp_path / "memo.json"
    directory = make_checkpoint(tmp_path / "ckpt")
    first = HashMemo(memo_path)
    content_fingerprint(directory, first)
    assert [p.name for p in first.hashed] == ["model.safetensors"]
    entry = json.loads(memo_path.read_text())[str((directory / "model.safetensors").resolve())]
    assert set(entry) == {"size", "mtime_ns", "sha256"}
    again = HashMemo(memo_path)
    content_fingerprint(directory, again)
    assert again.hashed == []  # from the memo: the weights were not read
    (directory / "model.safetensors").write_bytes(b"\x04" * 65)
    changed = HashMemo(memo_path)
    content_fingerprint(directory, changed)
    assert [p.name for p in changed.hashed] == ["model.safetensors"]


def test_a_damaged_or_unwritable_memo_is_only_not_remembered(tmp_path: Path) -> None:
    directory = make_checkpoint(tmp_path / "ckpt")
    broken = tmp_path / "memo.json"
    broken.write_text("{not json")
    expected = content_fingerprint(directory, HashMemo(tmp_path / "fresh.json"))
    assert content_fingerprint(directory, HashMemo(broken)) == expected
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert content_fingerprint(directory, HashMemo(blocked / "memo.json")) == expected


def test_the_memo_lives_in_the_user_cache_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REST_CHECKPOINT_HASHES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_memo_path() == tmp_path / "rest-checks" / "checkpoint-hashes.json"
    monkeypatch.setenv("REST_CHECKPOINT_HASHES", str(tmp_path / "m.json"))
    assert default_memo_path() == tmp_path / "m.json"


def test_an_unreadable_checkpoint_file_is_a_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers")
    from rest_checks.models import checkpoint_identity
    from rest_checks.models.base import ModelError
    from rest_checks.models.hf import HFModel
    from tests.tiny_models.qwen2_vl import build_tiny_qwen2_vl

    directory = build_tiny_qwen2_vl(tmp_path / "ckpt")

    def refused(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(checkpoint_identity, "file_sha256", refused)
    with pytest.raises(ModelError, match=r"cannot read the checkpoint's files.*Permission denied"):
        HFModel(str(directory), spec="hf:ckpt", device="cpu")
