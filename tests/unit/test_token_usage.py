"""Tokens per modality from the replies' usage, and a run's cost from the models file's
prices: kept per request by the API backend, summed in the results, shown in the summary
and the report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks.config import RestSettings
from rest_checks.html_report import render_report
from rest_checks.models.base import Model, Response
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import ModelOptions, ModelsFileError, load, resolve
from rest_checks.prompts import Request
from rest_checks.report import format_summary
from rest_checks.run import RestRun
from rest_checks.token_usage import usage_table

# Prompt tokens per modality, completion tokens per reply.
PROMPT = {"text": 80, "image": 600, "mixed": 400, "ocr": 590}
COMPLETION = 20


class Metered(Model):
    """The oracle, with a usage in every reply's extras as an API reports it."""

    def __init__(self) -> None:
        self.oracle = MockModel("oracle")
        self.spec = "mock:oracle"

    def identity(self) -> dict[str, Any]:
        return self.oracle.identity()

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        replies = self.oracle.generate(requests)
        for request, reply in zip(requests, replies, strict=True):
            reply.extra["usage"] = {
                "prompt_tokens": PROMPT[request.modality],
                "completion_tokens": COMPLETION,
            }
        return replies


def _run(root: Path, model: Model, prices: dict[str, float] | None = None) -> dict[str, Any]:
    values = {
        "rest_model": "mock:oracle",
        "rest_suite": ("arith",),
        "rest_n": 5,
        "rest_no_cache": True,
        "rest_json": "results.json",
        "rest_html": "report.html",
    }
    run = RestRun(RestSettings.from_values(values, root), model, prices=prices)
    for item in run.items():
        run.cross_modal(item)
    run.finish()
    return json.loads((root / "results.json").read_text(encoding="utf-8"))


def test_tokens_per_modality_and_the_cost_reach_summary_and_report(tmp_path: Path) -> None:
    results = _run(tmp_path, Metered(), prices={"prompt": 2.5, "completion": 10.0})
    usage = results["usage"]
    assert usage["modalities"]["image"] == {
        "replies": 5,
        "prompt_tokens": 3000,
        "completion_tokens": 100,
        "mean_prompt_tokens": 600.0,
        "mean_completion_tokens": 20.0,
    }
    assert usage["image_vs_text"] == pytest.approx(600 / 80)
    prompt, completion = 5 * sum(PROMPT.values()), 5 * 4 * COMPLETION
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (prompt, completion)
    assert usage["cost"]["total"] == pytest.approx((prompt * 2.5 + completion * 10.0) / 1e6)
    assert usage["cost"]["image"] == pytest.approx((3000 * 2.5 + 100 * 10.0) / 1e6)
    summary = "\n".join(format_summary(results))
    assert "text 80/20, image 600/20, mixed 400/20, ocr 590/20" in summary
    assert "an image request's prompt is 7.50x its text's" in summary
    assert f"cost ${usage['cost']['total']:,.4f} (text $" in summary
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html == render_report(results)
    assert 'id="token-usage"' in html and "$0.0085" in html  # the image's cost


def test_no_usage_no_table_and_no_prices_no_cost(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    assert _run(tmp_path / "plain", MockModel("oracle"))["usage"] is None
    results = _run(tmp_path, Metered())
    assert "cost" not in results["usage"]
    assert not any(line.strip().startswith("cost $") for line in format_summary(results))


def test_usage_table_skips_replies_without_a_usable_usage() -> None:
    from rest_checks.records import CaseRecord

    def record(key: str, extra: dict[str, Any], **kw: Any) -> CaseRecord:
        base = dict(kind="cross_modal", item_id=key, task="t", rendering="default")
        return CaseRecord(
            key=key,
            expected="1",
            answers={},
            raw={},
            consistent=True,
            extra=extra,
            **{**base, **kw},
        )

    usage = {"usage": {"prompt_tokens": 10, "completion_tokens": 2}}
    table = usage_table(
        [
            record("a", {"text": usage, "image": {"usage": {"prompt_tokens": "many"}}}),
            record("b", {"text": usage}, error="HTTP 500"),
            record("c", {"text": usage}, kind="invariance"),
        ]
    )
    assert table is not None and list(table["modalities"]) == ["text"]
    assert table["modalities"]["text"]["replies"] == 1 and table["image_vs_text"] is None
    assert usage_table([record("d", {"text": {"finish_reason": "stop"}})]) is None
    # A local model's own counts.
    local = usage_table([record("e", {"image": {"prompt_tokens": 700, "new_tokens": 30}})])
    assert local is not None and local["modalities"]["image"]["completion_tokens"] == 30


def test_prices_come_from_the_models_file_and_never_reach_the_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "rest_models.toml"
    models.write_text(
        '[models.priced]\nbackend = "openai"\nname = "gpt-x"\n'
        "price_prompt = 2.5\nprice_completion = 10\n",
        encoding="utf-8",
    )
    options = ModelOptions(models_file=models)
    resolved = resolve("priced", options)
    assert resolved.prices == {"prompt": 2.5, "completion": 10.0}
    assert "price_prompt" not in resolved.params
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = load(resolved, options)  # the backend refuses settings it does not know
    assert "price" not in json.dumps(model.identity())
    models.write_text(
        '[models.priced]\nbackend = "openai"\nname = "gpt-x"\n\nprice_prompt = "cheap"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        ModelsFileError, match=r"rest_models.toml:5: model 'priced', key 'price_prompt'"
    ):
        resolve("priced", options)


def test_an_api_reply_keeps_its_usage_per_request() -> None:
    from rest_checks.models.openai_api import OpenAIModel
    from rest_checks.testing import ChatCompletionsServer, Reply

    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ANSWER: 7"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 612, "completion_tokens": 9, "total_tokens": 621},
    }
    with ChatCompletionsServer(api_key="sk-test") as server:
        server.script(Reply(body=json.dumps(body)))
        model = OpenAIModel(
            "test-model",
            spec="openai:test-model",
            base_url=server.base_url,
            api_key="sk-test",
            settings={"timeout": 5.0, "retry_base_delay": 0.01},
        )
        [reply] = model.generate([Request("item-0001", "text", "Solve it.", None, 64)])
    assert reply.extra["usage"] == {"prompt_tokens": 612, "completion_tokens": 9}
