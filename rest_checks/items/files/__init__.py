"""Published benchmark files as items: MMLU, ARC, GSM8K/GSM-Symbolic, Hugging Face
exports and this project's JSONL. One module per layout family, a detector, and a loader
that normalises and filters (see ``load``)."""

from rest_checks.items.files.directory import load_item_dir, stratified_sample
from rest_checks.items.files.errors import ItemFileError
from rest_checks.items.files.filters import MAX_CHARS, drop_reason, has_latex
from rest_checks.items.files.layouts import LAYOUT_NAMES, LAYOUTS, supported_layouts
from rest_checks.items.files.load import LoadResult, load_item_file, read_rows
from rest_checks.items.files.normalise import clean_item_text

__all__ = [
    "LAYOUTS",
    "LAYOUT_NAMES",
    "MAX_CHARS",
    "ItemFileError",
    "LoadResult",
    "clean_item_text",
    "drop_reason",
    "has_latex",
    "load_item_dir",
    "load_item_file",
    "read_rows",
    "stratified_sample",
    "supported_layouts",
]
