"""Helpers for testing against rest-checks' backends without the network.

Names load on first use, so that ``python -m rest_checks.testing.chat_server`` runs the
module once, as ``__main__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rest_checks.testing.chat_server import (
        ChatCompletionsServer,
        RecordedRequest,
        Reply,
        ServerState,
        default_respond,
        request_images,
        request_text,
    )

__all__ = [
    "ChatCompletionsServer",
    "RecordedRequest",
    "Reply",
    "ServerState",
    "default_respond",
    "request_images",
    "request_text",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from rest_checks.testing import chat_server

        return getattr(chat_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
