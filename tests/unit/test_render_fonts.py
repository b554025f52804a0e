"""The fonts are the repository's own files, with their licences, and cover what items use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rest_checks.fonts import (
    DEFAULT_FONTS_DIR,
    FONTS,
    FONTS_DIR_ENV,
    clear_font_cache,
    font_info,
    font_names,
    font_path,
    load_font,
)

REPO_FONTS = Path(__file__).resolve().parents[2] / "fonts"
# Everything SoEBench, arithmetic and multiple-choice items are made of.
NEEDED = "ABCDE0123456789+-=()., abcdefghijklmnopqrstuvwxyz?:%$/"


@pytest.fixture(autouse=True)
def _fresh_font_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FONTS_DIR_ENV, raising=False)
    clear_font_cache()


def test_the_three_rest_plus_typefaces_are_registered_default_first() -> None:
    assert font_names() == ("dejavu-sans", "liberation-mono", "dancing-script")
    assert "Courier" in font_info("liberation-mono").description
    assert "cursive" in font_info("dancing-script").description


def test_fonts_load_from_the_repository_fonts_directory() -> None:
    assert REPO_FONTS.resolve() == DEFAULT_FONTS_DIR
    for name in font_names():
        path = font_path(name)
        assert path.parent == REPO_FONTS.resolve()
        assert Path(str(load_font(name, 12).path)).resolve() == path


@pytest.mark.parametrize("name", font_names())
def test_each_font_file_has_its_licence_next_to_it(name: str) -> None:
    licence = REPO_FONTS / FONTS[name].licence
    assert licence.is_file()
    assert "copyright" in licence.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize("name", font_names())
def test_each_font_has_a_glyph_for_every_character_items_use(name: str) -> None:
    font = load_font(name, 24)
    missing = bytes(font.getmask("\ue000"))  # a private-use code point: the .notdef box
    lacking = [ch for ch in NEEDED if ch != " " and bytes(font.getmask(ch)) == missing]
    assert lacking == []


def test_unknown_font_error_lists_the_known_fonts() -> None:
    with pytest.raises(ValueError, match="unknown font 'arial'; known fonts: dejavu-sans, "):
        font_path("arial")


def test_fonts_directory_can_be_moved_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FONTS_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=FONTS_DIR_ENV):
        font_path("dejavu-sans")
    shutil.copy(REPO_FONTS / "DejaVuSans.ttf", tmp_path / "DejaVuSans.ttf")
    assert font_path("dejavu-sans") == tmp_path.resolve() / "DejaVuSans.ttf"
    assert Path(str(load_font("dejavu-sans", 10).path)).parent == tmp_path.resolve()


def test_loaded_fonts_are_cached_per_size() -> None:
    assert load_font("dejavu-sans", 20) is load_font("dejavu-sans", 20)
    assert load_font("dejavu-sans", 20) is not load_font("dejavu-sans", 21)


@pytest.mark.parametrize("size", [0, -3])
def test_non_positive_size_is_refused(size: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        load_font("dejavu-sans", size)
