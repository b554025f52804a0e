"""Helpers for testing against rest-checks' backends without the network."""

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
