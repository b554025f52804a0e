"""Pages drawn in a worker process: the same bytes as this process draws, used only where a
batch has enough pages for a model that sends concurrently, back to drawing here when the
worker draws differently or fails, and ended with the run, after an error too."""

from __future__ import annotations

import io
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks.config import RestSettings
from rest_checks.items.arith import generate_arith
from rest_checks.model_gateway import MIN_PAGES_FOR_PROCESSES, ModelCalls
from rest_checks.models.base import ModelAuthError, ReplySink
from rest_checks.models.mock import MockModel
from rest_checks.models.openai_api import OpenAIModel
from rest_checks.page_drawers import PageDrawers, draw_pages, spare_cores
from rest_checks.pages import KeyedPage, RenderedPage
from rest_checks.prompts import Request, build_requests
from rest_checks.render import drawing
from rest_checks.render.drawing import render_png
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec
from rest_checks.run import RestRun
from rest_checks.testing import ChatCompletionsServer, Reply, request_images

SPECS = (
    DEFAULT_SPEC,
    RenderSpec(font="dancing-script", dpi=100),
    RenderSpec(font="liberation-mono", fg="#203040", bg="#fafaf0"),
)


def requests_of(items: int, spec: RenderSpec = DEFAULT_SPEC) -> list[Request]:
    return [
        r for item in generate_arith(items, seed=11) for r in build_requests(item, spec).values()
    ]


def drawn_here(requests: list[Request], spec: RenderSpec = DEFAULT_SPEC) -> set[bytes]:
    """The pages of ``requests`` as this process draws them."""
    return {render_png(r.image.text, spec) for r in requests if isinstance(r.image, RenderedPage)}


def processes_of(calls: ModelCalls) -> list[Any]:
    drawers = calls._drawers
    return [] if drawers is None else [w.process for w in drawers._workers]


@pytest.fixture(autouse=True)
def spare_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core to spare, whatever machine runs these tests and under how many workers."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)


@pytest.fixture
def server() -> Iterator[ChatCompletionsServer]:
    with ChatCompletionsServer(api_key=None) as running:
        yield running


def openai_model(server: ChatCompletionsServer, concurrency: int = 8) -> OpenAIModel:
    return OpenAIModel(
        "test-model", spec="openai:test-model", base_url=server.base_url, concurrency=concurrency
    )


def test_a_worker_draws_the_bytes_this_process_draws() -> None:
    pages = [
        RenderedPage(f"Page {n}: {text}", spec)
        for n, spec in enumerate(SPECS)
        for text in ("Solve for A.\n3A + 2 = 11", "A line long enough to wrap " * 12)
    ]
    drawers = PageDrawers(1, probe=pages[0])
    try:
        coming = [drawers.draw(page) for page in pages]
        drawn = [future.result(timeout=60) for future in coming]
        assert drawers.usable, drawers.failure
    finally:
        drawers.close()
    assert drawn == [render_png(page.text, page.spec) for page in pages]


def test_a_large_batch_is_drawn_by_a_worker_and_sends_the_same_bytes(
    server: ChatCompletionsServer,
) -> None:
    spec = SPECS[1]
    requests = requests_of(40, spec)  # 80 pages: the first window's here, the rest there
    model = openai_model(server)
    calls = ModelCalls(model, None)
    try:
        calls.generate(requests)
        workers = processes_of(calls)
        assert len(workers) == 1 and calls._drawers is not None and calls._drawers.usable
        assert workers[0].poll() is None  # kept for the next batch
    finally:
        calls.close()
    assert all(process.poll() is not None for process in workers)
    sent = [png for r in server.state.completions for png in request_images(r.json)]
    assert set(sent) == drawn_here(requests, spec) and len(sent) == 3 * 40


@pytest.mark.parametrize(
    "model, items, processes",
    [
        ("openai", MIN_PAGES_FOR_PROCESSES // 2, 1),  # too few pages to pay for a worker
        ("openai", 40, 0),  # asked to draw here
        ("mock", 40, 1),  # a model that sends one request at a time
    ],
)
def test_small_batches_and_sequential_models_draw_in_this_process(
    server: ChatCompletionsServer, model: str, items: int, processes: int
) -> None:
    chosen = openai_model(server) if model == "openai" else MockModel("oracle")
    calls = ModelCalls(chosen, None, render_processes=processes)
    try:
        calls.generate(requests_of(items))
        assert calls._drawers is None
    finally:
        calls.close()


def test_a_worker_that_draws_differently_is_dropped(
    server: ChatCompletionsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Patched in this process only: the worker encodes at the usual level.
    drawing.clear_render_cache(fonts=False)
    monkeypatch.setattr(drawing, "PNG_COMPRESS_LEVEL", 9)
    requests = requests_of(40)
    calls = ModelCalls(openai_model(server), None)
    try:
        calls.generate(requests)
        assert calls._drawers is not None and not calls._drawers.usable
        assert "differs" in (calls._drawers.failure or "")
        assert calls.drawers([r.image for r in requests if r.image]) is None  # not again
    finally:
        calls.close()
    sent = {png for r in server.state.completions for png in request_images(r.json)}
    assert sent == drawn_here(requests)
    drawing.clear_render_cache(fonts=False)


def test_a_worker_that_dies_leaves_the_pages_to_this_process() -> None:
    first = RenderedPage("Before the worker ends.")
    drawers = PageDrawers(1, probe=first)
    try:
        assert drawers.draw(first).result(timeout=60) == render_png(first.text)
        drawers._workers[0].process.kill()
        page = RenderedPage("After the worker ended.")
        page.draw_elsewhere(drawers.draw(page))
        assert page.png() == render_png(page.text)
        drawers._workers[0].process.wait()
        later = RenderedPage("Later still.")
        later.draw_elsewhere(drawers.draw(later))
        assert later.png() == render_png(later.text) and not drawers.usable
    finally:
        drawers.close()


class BrokenPage(KeyedPage):
    """A page whose drawing fails, here and in a worker."""

    @property
    def key(self) -> str:
        return "broken"

    def _produce(self) -> bytes:
        raise ValueError("this page cannot be drawn: line 3 is bad")

    def fresh(self) -> BrokenPage:
        return BrokenPage()


def test_a_page_that_fails_in_the_worker_fails_here_with_its_own_message() -> None:
    drawers = PageDrawers(1, probe=RenderedPage("A page drawn alike here and there."))
    try:
        page = BrokenPage()
        page.draw_elsewhere(drawers.draw(page))
        with pytest.raises(ValueError, match="line 3 is bad"):
            page.png()
        good = RenderedPage("The worker goes on.")
        assert drawers.draw(good).result(timeout=60) == render_png(good.text)
        assert drawers.usable
    finally:
        drawers.close()


def test_the_worker_ends_when_the_batch_stops_on_a_refused_key(
    server: ChatCompletionsServer,
) -> None:
    server.script(*[Reply("ANSWER: 1")] * 40, Reply.refused())
    calls = ModelCalls(openai_model(server, concurrency=4), None)
    try:
        with pytest.raises(ModelAuthError):
            calls.generate(requests_of(40))
        workers = processes_of(calls)
        assert len(workers) == 1
    finally:
        calls.close()
    assert all(process.poll() is not None for process in workers)


def test_the_worker_loop_reads_jobs_until_its_input_ends() -> None:
    page = RenderedPage("Solve for A.\nA + 1 = 2")
    source = io.BytesIO()
    pickle.dump((7, pickle.dumps(page)), source)
    pickle.dump((8, b"not a pickled page"), source)
    source.seek(0)
    sink = io.BytesIO()
    draw_pages(source, sink)
    sink.seek(0)
    assert pickle.load(sink) == (7, True, render_png(page.text))
    job, ok, message = pickle.load(sink)
    assert (job, ok) == (8, False) and "UnpicklingError" in message
    with pytest.raises(EOFError):
        pickle.load(sink)


def test_a_worker_that_cannot_start_leaves_the_pages_to_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    drawers = PageDrawers(2, probe=RenderedPage("Never drawn there."))
    try:
        assert not drawers.usable and "could not start" in (drawers.failure or "")
        page = RenderedPage("Drawn here.")
        page.draw_elsewhere(drawers.draw(page))
        assert page.png() == render_png(page.text)
    finally:
        drawers.close()


class InterruptedModel(OpenAIModel):
    """Ctrl-C arrives while the first batch is out."""

    def stream(self, requests: Sequence[Request], sink: ReplySink) -> None:
        raise KeyboardInterrupt


def test_a_run_interrupted_while_asking_ends_its_worker_when_it_closes(
    server: ChatCompletionsServer, tmp_path: Path
) -> None:
    values = {"rest_suite": ("arith",), "rest_n": 40, "rest_no_cache": True}
    model = InterruptedModel(
        "test-model", spec="openai:test-model", base_url=server.base_url, concurrency=8
    )
    run = RestRun(RestSettings.from_values(values, tmp_path), model)
    try:
        run.plan([(item, "default") for item in run.items()])
        with pytest.raises(KeyboardInterrupt):
            run.prefetch()
        workers = processes_of(run.calls)
        assert len(workers) == 1  # started for the batch it was asking
    finally:
        run.close()
    assert all(process.poll() is not None for process in workers)


@pytest.mark.parametrize("cores, workers", [(1, None), (2, 2), (4, 4)])
def test_no_worker_where_no_core_is_spare(
    server: ChatCompletionsServer,
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    workers: int | None,
) -> None:
    # One core, or as many xdist workers sending requests as there are cores.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    if workers is not None:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    assert spare_cores() == 0
    calls = ModelCalls(openai_model(server), None)
    try:
        calls.generate(requests_of(40))
        assert calls._drawers is None
    finally:
        calls.close()
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(cores - 1))
    if cores > 1:
        assert spare_cores() == 1  # fewer workers than cores
