"""Same identity, same answers: a batching model's batches come from the run's fixed order,
so a full run, a resumed run and a ``-k`` run put every request in the same batch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rest_checks.config import RestSettings
from rest_checks.items.soebench import generate_soebench
from rest_checks.models.fixed_batches import FixedBatches, request_key
from rest_checks.prompts import build_requests
from rest_checks.render.specs import RenderSpec
from rest_checks.run import RestRun


def test_fixed_batches_chunk_the_order_text_first_and_drop_duplicates() -> None:
    a, b = generate_soebench(2, seed=1)
    ra, rb = (build_requests(i, RenderSpec(dpi=50), with_ocr=False) for i in (a, b))
    order = [*ra.values(), *rb.values(), ra["text"]]  # the text call again (another rendering)
    fixed = FixedBatches.of(order, 3)
    names = [[(r.item_id, r.modality) for r in batch] for batch in fixed.batches]
    assert names == [
        [(a.id, "text"), (b.id, "text")],
        [(a.id, "image"), (a.id, "mixed"), (b.id, "image")],
        [(b.id, "mixed")],
    ]
    # Asking for b's mixed and a's text: their own fixed batches, whole, in order.
    wanted, loose = fixed.split([rb["mixed"], ra["text"], ra["text"]])
    assert loose == []
    assert [[r.modality for r in w.members] for w in wanted] == [["text", "text"], ["mixed"]]
    assert wanted[0].asked == {request_key(ra["text"]): [1, 2]}
    other = build_requests(a, RenderSpec(dpi=60), with_ocr=False)["image"]
    assert fixed.split([other]) == ([], [0])  # outside the order: batched on its own


# -- the real backend through the run -------------------------------------------------

torch_needed = pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("torch", "transformers")),
    reason="needs torch and transformers",
)
PIXELS = {"min_pixels": 4 * 28 * 28, "max_pixels": 32 * 28 * 28, "max_new_tokens": 2}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tests.tiny_models.qwen2_vl import build_tiny_qwen2_vl

    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-fixed"))


def recording_model(tiny: Path) -> tuple[Any, list[frozenset[Any]]]:
    from rest_checks.models.hf import HFModel

    model = HFModel(str(tiny), spec="hf:tiny", device="cpu", batch_size=4, settings=PIXELS)
    model.load()
    batches: list[frozenset[Any]] = []
    decode = model._decode

    def recorded(batch: list[Any], with_scores: bool = False) -> Any:
        batches.append(frozenset(request_key(p.request) for p in batch))
        return decode(batch, with_scores)

    model._decode = recorded  # type: ignore[method-assign]
    return model, batches


def run_of(tmp_path: Path, model: Any, cache: str) -> RestRun:
    values = {"rest_model": "hf:tiny", "rest_suite": ("arith",), "rest_n": 3, "rest_cache": cache}
    return RestRun(RestSettings.from_values(values, tmp_path), model)


def answers(run: RestRun, selected: list[Any]) -> dict[str, Any]:
    run.plan([(item, "default") for item in selected])
    run.prefetch()
    return {item.id: run.cross_modal(item).raw for item in selected}


@torch_needed
def test_full_resumed_and_k_runs_form_the_same_batches(tiny: Path, tmp_path: Path) -> None:
    model, batches = recording_model(tiny)
    full_run = run_of(tmp_path, model, "full")
    full = answers(full_run, full_run.items())
    full_batches = set(batches)
    assert len(full_batches) == len(batches) > 1  # each fixed batch generated once

    # -k: one item only; its requests are generated with their fixed companions.
    batches.clear()
    k_run = run_of(tmp_path, model, "k")
    second = k_run.items()[1]
    assert answers(k_run, [second]) == {second.id: full[second.id]}
    assert batches and set(batches) <= full_batches

    # Resumed: that cache holds the -k run's answers; the rest is asked in fixed batches.
    batches.clear()
    resumed_run = run_of(tmp_path, model, "k")
    assert answers(resumed_run, resumed_run.items()) == full
    assert batches and set(batches) <= full_batches
    model.close()


@torch_needed
def test_a_run_asking_case_by_case_generates_each_fixed_batch_once(
    tiny: Path, tmp_path: Path
) -> None:
    """Without asking ahead (xdist without a disk cache asks as each case runs), a fixed
    batch's companions are answered from the batch already generated, not generated again."""
    model, batches = recording_model(tiny)
    full_run = run_of(tmp_path, model, "full")
    full = answers(full_run, full_run.items())
    full_batches = list(batches)

    batches.clear()
    values = {"rest_model": "hf:tiny", "rest_suite": ("arith",), "rest_n": 3, "rest_no_cache": True}
    one_by_one = RestRun(RestSettings.from_values(values, tmp_path), model)
    items = one_by_one.items()
    one_by_one.plan([(item, "default") for item in items])
    assert {item.id: one_by_one.cross_modal(item).raw for item in items} == full
    assert sorted(batches, key=sorted) == sorted(full_batches, key=sorted)
    model.close()
