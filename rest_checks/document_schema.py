"""JSON Schemas of the results document and the baseline, generated from their TypedDicts
(``rest_checks.results_document``, ``rest_checks.baseline_document``), so the schema a user
validates against and the types mypy checks the code with cannot drift apart.

    python -m rest_checks.document_schema docs/   # writes results.schema.json, baseline.schema.json

The committed files under ``docs/`` are checked against this output in tests, and real
runs' files against them. Every object lists its keys: a key the types do not name is an
error (``additionalProperties: false``), so a writer cannot add one without typing it.
"""

from __future__ import annotations

import inspect
import json
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

from rest_checks.baseline_document import BaselineDocument
from rest_checks.results_document import ResultsDocument

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# File name under docs/ -> (title, the document's type).
SCHEMAS: dict[str, tuple[str, Any]] = {
    "results.schema.json": ("rest-checks results (--rest-json)", ResultsDocument),
    "baseline.schema.json": ("rest-checks baseline (baselines/<model>.json)", BaselineDocument),
}
_SCALARS: dict[Any, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    type(None): {"type": "null"},
}


def _type_schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of one annotation; a TypedDict goes to ``defs`` once and is referred to."""
    if hint is Any:
        return {}
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    if is_typeddict(hint):
        name = hint.__name__
        if name not in defs:
            defs[name] = {}  # taken before recursing, for a type that refers to itself
            defs[name] = _object_schema(hint, defs)
        return {"$ref": f"#/$defs/{name}"}
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_type_schema(arg, defs) for arg in args]}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    raise TypeError(f"no JSON Schema for the annotation {hint!r}")


def _object_schema(typed: Any, defs: dict[str, Any]) -> dict[str, Any]:
    hints = get_type_hints(typed)
    schema: dict[str, Any] = {}
    if typed.__doc__:  # a class's own docstring (a TypedDict does not inherit one)
        schema["description"] = inspect.cleandoc(typed.__doc__)
    schema.update(
        type="object",
        properties={key: _type_schema(hint, defs) for key, hint in hints.items()},
        required=[key for key in hints if key in typed.__required_keys__],
        additionalProperties=False,
    )
    return schema


def document_schema(title: str, typed: Any) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the TypedDict ``typed``."""
    defs: dict[str, Any] = {}
    root = _object_schema(typed, defs)
    return {"$schema": DIALECT, "title": title, **root, "$defs": dict(sorted(defs.items()))}


def schema_texts() -> dict[str, str]:
    """File name -> the schema as the committed file holds it."""
    return {
        name: json.dumps(document_schema(title, typed), indent=2, ensure_ascii=False) + "\n"
        for name, (title, typed) in SCHEMAS.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0] if args else "docs")
    for name, text in schema_texts().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"{folder / name}: written")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
