"""One request as a Chat Completions payload, and the server's reply as a ``Response``.

A text request sends the prompt as a string; a request with an image sends two content
parts, the image first and then the prompt (the order of the vendors' own examples, and the
one the paper's prompts read naturally in: "the question is shown in the image ..."). The
image goes as a ``data:image/png;base64`` URL of the request's exact PNG bytes: never
resized or recompressed here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from rest_checks.models.base import ModelError, Response
from rest_checks.models.openai_errors import MalformedReply, excerpt
from rest_checks.models.openai_settings import OpenAISettings
from rest_checks.prompts import Request

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A reply's text beyond this many characters is cut (and marked in its extras): no
# answer needs a megabyte, and a runaway one would swell every output of the run.
MAX_REPLY_CHARS = 1_000_000


def user_content(request: Request, image_detail: str | None) -> str | list[dict[str, Any]]:
    """The user message's content: the prompt, after the image where there is one."""
    if request.image_png is None:
        return request.prompt
    if not request.image_png.startswith(PNG_SIGNATURE):
        raise ModelError(f"request {request.item_id} ({request.modality}): image is not PNG data")
    image_url: dict[str, Any] = {
        "url": "data:image/png;base64," + base64.b64encode(request.image_png).decode()
    }
    if image_detail is not None:
        image_url["detail"] = image_detail
    return [
        {"type": "image_url", "image_url": image_url},
        {"type": "text", "text": request.prompt},
    ]


def chat_payload(model: str, settings: OpenAISettings, request: Request) -> dict[str, Any]:
    """The body of ``POST /chat/completions`` for one request."""
    content = user_content(request, settings.image_detail)
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
    }
    if settings.temperature is not None:
        payload["temperature"] = settings.temperature
    if settings.top_p is not None:
        payload["top_p"] = settings.top_p
    if settings.seed is not None:
        payload["seed"] = settings.seed
    budget = settings.max_tokens if settings.max_tokens is not None else request.max_tokens
    payload[settings.budget_param] = budget
    return payload


def _first_message(data: Any, body: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first choice of a parsed reply and its message; ``MalformedReply`` if none."""
    if not isinstance(data, dict):
        raise MalformedReply(f"body is not a JSON object: {excerpt(body, 120)!r}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = data.get("error")
        said = f" (error: {excerpt(json.dumps(error), 200)})" if error else ""
        raise MalformedReply(f"reply has no choices{said}")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise MalformedReply("first choice has no message")
    return choice, message


def _answer_text(choice: dict[str, Any], message: dict[str, Any]) -> str:
    """The message's text; ``MalformedReply`` when it holds none."""
    content = message.get("content")
    if isinstance(content, list):  # some servers return content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    if content is not None and not isinstance(content, str):
        raise MalformedReply(f"message content is {type(content).__name__}, not text")
    if not content or not content.strip():
        # A refusal, an answer cut off before any text, a server that lost it: no
        # answer to judge or to cache. Retried like any malformed reply.
        said = "null" if content is None else repr(content)
        why = f"finish_reason {choice.get('finish_reason')!r}"
        if message.get("refusal"):
            why += f", refusal {excerpt(str(message['refusal']), 120)!r}"
        raise MalformedReply(f"the reply has no text (content {said}, {why})")
    return content


def parse_reply(body: str) -> Response:
    """A chat completion's body as a ``Response`` (``MalformedReply`` when unusable):
    the first choice's text, with ``finish_reason``, the served model, the token usage
    and any refusal in its extras."""
    try:
        data = json.loads(body)
    except ValueError:
        raise MalformedReply(f"body is not JSON: {excerpt(body, 120)!r}") from None
    choice, message = _first_message(data, body)
    content = _answer_text(choice, message)
    extra: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
    if len(content) > MAX_REPLY_CHARS:
        # Kept whole, a runaway reply would swell the results, reports and cache.
        extra["cut_from_chars"] = len(content)
        content = content[:MAX_REPLY_CHARS]
    if isinstance(data.get("model"), str):
        extra["served_model"] = data["model"]
    usage = data.get("usage")
    if isinstance(usage, dict):
        extra["usage"] = {
            k: usage[k]
            for k in ("prompt_tokens", "completion_tokens")
            if isinstance(usage.get(k), int)
        }
    if message.get("refusal"):
        extra["refusal"] = str(message["refusal"])
    return Response(content, None, extra)
