"""Files are written whole or not at all, a large document a piece at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rest_checks.atomic import write_atomic


def test_text_bytes_and_pieces_are_written_alike(tmp_path: Path) -> None:
    for data in ("día\n", "día\n".encode(), iter(["d", "í", "a\n"])):
        target = tmp_path / "out.json"
        write_atomic(target, data)
        assert target.read_bytes() == "día\n".encode()


def test_a_piece_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("old")

    def pieces() -> Iterator[str]:
        yield "new, half"
        raise RuntimeError("killed while encoding")

    with pytest.raises(RuntimeError):
        write_atomic(target, pieces())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
