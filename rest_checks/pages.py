"""The image a request shows, as a page that is rendered only when its bytes are needed.

A page is known by its key (``render.page_keys.page_key``: what determines its bytes),
which the response cache uses, so a request answered from the cache never renders. The
bytes are rendered on the first ``png()`` and kept by that page object until ``forget()``;
several threads asking at once render it once. A page being drawn elsewhere (another
process: ``rest_checks.page_drawers``) waits for those bytes instead, and draws them
itself if they do not come.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import CancelledError, Future
from typing import ClassVar

from rest_checks.render.drawing import render_png
from rest_checks.render.page_keys import page_key
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec

# How long ``png()`` waits for bytes drawn elsewhere before drawing them itself.
DRAWN_ELSEWHERE_TIMEOUT_S = 60.0


class KeyedPage:
    """A PNG image known by a key that identifies its bytes without producing them."""

    # Whether producing the bytes costs enough to be worth doing in another process.
    costly: ClassVar[bool] = True

    def __init__(self) -> None:
        self._png: bytes | None = None
        self._coming: Future[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        raise NotImplementedError

    def _produce(self) -> bytes:
        raise NotImplementedError

    def png(self) -> bytes:
        """The PNG bytes, produced once (other threads asking meanwhile wait for them)."""
        with self._lock:
            if self._png is None:
                self._png = self._drawn_elsewhere() or self._produce()
            return self._png

    def draw_elsewhere(self, coming: Future[bytes]) -> None:
        """The bytes are being drawn elsewhere: ``png()`` takes them from ``coming`` (and
        draws them itself if that fails, raising any error of its own drawing)."""
        with self._lock:
            if self._png is None:
                self._coming = coming

    def _drawn_elsewhere(self) -> bytes | None:
        coming, self._coming = self._coming, None
        if coming is None:
            return None
        try:
            return coming.result(timeout=DRAWN_ELSEWHERE_TIMEOUT_S)
        except (Exception, CancelledError):
            return None

    def fresh(self) -> KeyedPage:
        """The same page as a new object holding no bytes yet (one whose bytes its owner
        may drop without touching anyone else's)."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop the bytes (they are produced again if asked for)."""
        with self._lock:
            self._png = None
            self._coming = None

    def __getstate__(self) -> dict[str, object]:
        # Picklable for other processes: the lock and any bytes on their way stay behind.
        state = self.__dict__.copy()
        del state["_lock"]
        state.pop("_coming", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._coming = None
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyedPage) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


class RenderedPage(KeyedPage):
    """``text`` drawn with ``spec``; keyed by ``page_key(text, spec)``."""

    def __init__(self, text: str, spec: RenderSpec = DEFAULT_SPEC) -> None:
        super().__init__()
        self.text = text
        self.spec = spec
        self._key: str | None = None

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = page_key(self.text, self.spec)
        return self._key

    def _produce(self) -> bytes:
        return render_png(self.text, self.spec)

    def fresh(self) -> RenderedPage:
        page = RenderedPage(self.text, self.spec)
        page._key = self._key
        return page

    def __repr__(self) -> str:
        return f"RenderedPage({self.text[:20]!r}..., {self.spec!r})"


class PngPage(KeyedPage):
    """Given PNG bytes (or any bytes a test hands a backend); keyed by their SHA-256."""

    costly = False

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = bytes(data)
        self._key = "sha256:" + hashlib.sha256(self._data).hexdigest()

    @property
    def key(self) -> str:
        return self._key

    def _produce(self) -> bytes:
        return self._data

    def fresh(self) -> PngPage:
        return self

    def __repr__(self) -> str:
        return f"PngPage({len(self._data)} bytes)"
