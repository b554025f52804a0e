"""Page keys: a hash of everything that determines a rendering's PNG bytes, computed
without rendering, by which the response cache keys images."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import PIL
from PIL import features

from rest_checks.fonts import font_sha256
from rest_checks.render import drawing
from rest_checks.render.layout import require_text
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec, spec_identity, validate_spec


def page_key(text: str, spec: RenderSpec = DEFAULT_SPEC) -> str:
    """A hash of everything that determines ``render_png(text, spec)``'s bytes, computed
    without rendering: the text, the spec, the font file's SHA-256, ``RENDERER_VERSION``,
    the PNG settings and the Pillow, FreeType and zlib versions. The response cache keys
    images by it, so a cached case renders nothing."""
    require_text(text)
    validate_spec(spec)
    # Read from the drawing module at each call: its versions are what the bytes depend on.
    inputs = (
        drawing.RENDERER_VERSION,
        drawing.PNG_COMPRESS_LEVEL,
        tuple(sorted(_library_versions().items())),
        font_sha256(spec.font),
        spec_identity(spec),
    )
    blob = _page_key_prefix(inputs, spec) + json.dumps(text, ensure_ascii=False) + "}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def _page_key_prefix(inputs: tuple[Any, ...], spec: RenderSpec) -> str:
    """The JSON of a page key's ``inputs`` (all but the text, which sorts last):
    ``page_key`` appends the text and closes the object. Cached, since a run asks for the
    keys of thousands of pages in a few renderings."""
    renderer, compress_level, libraries, font_hash, _ = inputs
    blob = json.dumps(
        {
            "renderer": renderer,
            "png_compress_level": compress_level,
            "libraries": dict(libraries),
            "font_sha256": font_hash,
            "spec": asdict(spec),
            "text": "",
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    suffix = '"text":""}'
    assert blob.endswith(suffix), "the text must sort last among a page key's inputs"
    return blob[: -len(suffix)] + '"text":'


@lru_cache(maxsize=1)
def _library_versions() -> dict[str, str | None]:
    """The libraries whose versions can change a page's pixels or PNG bytes."""
    return {
        "pillow": PIL.__version__,
        "freetype": features.version("freetype2"),
        "zlib": features.version("zlib"),
    }
