"""What the reference model costs, and how well it reads each REST+ rendering.

The reference model (RapidOCR + the exact reader) is the suite's default and its OCR
control, so its OCR time decides how many items a cold run can afford on a small machine,
and its accuracy per rendering says which REST+ variants are still legible. For every
variant of ``REST_PLUS_GRID`` and a few items of each task it reads the ``image`` and
``mixed`` renderings (the ``ocr`` request shares the ``image`` PNG and is served from the
cache), then prints:

1. OCR seconds per image by DPI and task (DejaVu Sans, black on white): wall and CPU;
2. per variant: image and mixed accuracy, RER (text = image = mixed), mean CER of the
   transcription (as the metrics compute it, and with all whitespace removed, since
   RapidOCR often drops the spaces of a line) and wall seconds per image;
3. with ``--compare-threads``: one ONNX Runtime thread against its default on the
   200 DPI images, and whether the transcriptions are identical.

    python benchmarks/reference_cost.py                  # 2 items per task, about 150 images
    python benchmarks/reference_cost.py --n 4 --variants dejavu-sans-50dpi red-text

Timings on a shared machine are noisy: the CPU column (process time) is the steadier one.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rest_checks.answers import extract_final_answer
from rest_checks.items import load_suite
from rest_checks.items.base import Item
from rest_checks.metrics import character_error_rate
from rest_checks.models.reference import (
    ReferenceModel,
    boxes_from_rapidocr,
    load_rapidocr,
    ocr_version,
    reading_order_text,
)
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.prompts import build_requests
from rest_checks.render import REST_PLUS_GRID, RenderSpec, render_png

TASKS = ("soebench", "arith", "mcq")
DPIS = (50, 100, 200)


class TimedEngine:
    """Wraps the OCR engine and records wall and CPU seconds of every image it reads."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self._engine: Callable[[bytes], Any] | None = None
        self.timings: list[tuple[float, float]] = []

    def factory(self) -> Callable[[bytes], Any]:
        self._engine = load_rapidocr(self.threads)
        return self

    def __call__(self, png: bytes) -> Any:
        assert self._engine is not None
        wall, cpu = time.perf_counter(), time.process_time()
        result = self._engine(png)
        self.timings.append((time.perf_counter() - wall, time.process_time() - cpu))
        return result


@dataclass
class Outcome:
    variant: str
    spec: RenderSpec
    item: Item
    answers: dict[str, str | None]
    transcription: str
    timings: list[tuple[float, float]]

    @property
    def consistent(self) -> bool:
        values = [self.answers[m] for m in ANSWER_MODALITIES]
        return values[0] is not None and len(set(values)) == 1

    def cer(self, squash: bool = False) -> float:
        reference, hypothesis = self.item.full_text(), self.transcription
        if squash:
            reference, hypothesis = re.sub(r"\s", "", reference), re.sub(r"\s", "", hypothesis)
        return character_error_rate(reference, hypothesis)


def run_variant(
    model: ReferenceModel, engine: TimedEngine, name: str, spec: RenderSpec, items: list[Item]
) -> list[Outcome]:
    outcomes = []
    for item in items:
        requests = build_requests(item, spec)
        start = len(engine.timings)
        responses = dict(zip(requests, model.generate(list(requests.values())), strict=True))
        answers: dict[str, str | None] = {
            m: extract_final_answer(responses[m].text, item.answer_type) for m in ANSWER_MODALITIES
        }
        outcomes.append(
            Outcome(name, spec, item, answers, responses["ocr"].text, engine.timings[start:])
        )
    return outcomes


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def print_cost_table(outcomes: list[Outcome]) -> None:
    print("\nOCR seconds per image, DejaVu Sans black on white (image and mixed renderings)")
    print(f"{'task':<10}" + "".join(f"{f'{d} DPI wall/cpu':>20}" for d in DPIS))
    cells: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for o in outcomes:
        if o.spec.font == "dejavu-sans" and o.spec.fg == "#000000":
            cells[(o.item.task, o.spec.dpi)].extend(o.timings)
    for task in (*TASKS, "all"):
        row = f"{task:<10}"
        for dpi in DPIS:
            timings = [
                t for (k, d), ts in cells.items() if d == dpi and task in (k, "all") for t in ts
            ]
            wall = _mean([w for w, _ in timings])
            cpu = _mean([c for _, c in timings])
            row += f"{f'{wall:.2f} / {cpu:.2f}':>20}"
        print(row)


def print_accuracy_table(outcomes: list[Outcome]) -> None:
    print("\nReader per REST+ variant (all tasks pooled)")
    header = (
        f"{'variant':<24}{'items':>6}{'text':>6}{'image':>7}{'mixed':>7}{'RER':>6}"
        f"{'CER':>7}{'CER no-ws':>10}{'s/img':>7}"
    )
    print(header)
    by_variant: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_variant[o.variant].append(o)
    for name, rows in by_variant.items():
        n = len(rows)

        def acc(modality: str, rows: list[Outcome] = rows) -> float:
            return sum(r.answers[modality] == r.item.expected for r in rows) / len(rows)

        wall = _mean([w for r in rows for w, _ in r.timings])
        print(
            f"{name:<24}{n:>6}{acc('text'):>6.0%}{acc('image'):>7.0%}{acc('mixed'):>7.0%}"
            f"{sum(r.consistent for r in rows) / n:>6.0%}{_mean([r.cer() for r in rows]):>7.3f}"
            f"{_mean([r.cer(squash=True) for r in rows]):>10.3f}{wall:>7.2f}"
        )
    print("\nImage accuracy by task and variant")
    print(f"{'variant':<24}" + "".join(f"{t:>10}" for t in TASKS))
    for name, rows in by_variant.items():
        cells = []
        for task in TASKS:
            task_rows = [r for r in rows if r.item.task == task]
            right = sum(r.answers["image"] == r.item.expected for r in task_rows)
            cells.append(f"{right}/{len(task_rows)}")
        print(f"{name:<24}" + "".join(f"{c:>10}" for c in cells))


def compare_threads(items: list[Item]) -> None:
    print("\nONNX Runtime threads, 200 DPI DejaVu image renderings")
    spec = REST_PLUS_GRID["dejavu-sans-200dpi"]
    pngs = [render_png(item.full_text(), spec) for item in items]
    results: dict[str, list[str]] = {}
    for label, threads in (("1 thread", 1), ("ORT default", None)):
        engine = TimedEngine(threads)
        engine.factory()
        engine(pngs[0])  # warm-up, not counted
        engine.timings.clear()
        results[label] = [reading_order_text(boxes_from_rapidocr(engine(png))) for png in pngs]
        wall = _mean([w for w, _ in engine.timings])
        cpu = _mean([c for _, c in engine.timings])
        print(f"{label:<12} wall {wall:.2f} s/img, CPU {cpu:.2f} s/img")
    same = sum(a == b for a, b in zip(*results.values(), strict=True))
    print(f"identical transcriptions: {same}/{len(pngs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2, help="items per task (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants", nargs="*", default=list(REST_PLUS_GRID), help="REST+ variant names"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="ONNX Runtime threads per session (default 1)"
    )
    parser.add_argument("--compare-threads", action="store_true")
    args = parser.parse_args()
    unknown = [v for v in args.variants if v not in REST_PLUS_GRID]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(REST_PLUS_GRID)}")

    items = load_suite(list(TASKS), args.n, args.seed)
    print(
        f"{ocr_version()}, {args.threads} ORT thread(s); {len(items)} items "
        f"({args.n} per task, seed {args.seed}), {len(args.variants)} variants"
    )
    engine = TimedEngine(args.threads)
    model = ReferenceModel(engine_factory=engine.factory)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for name in args.variants:
        outcomes.extend(run_variant(model, engine, name, REST_PLUS_GRID[name], items))
        print(f"  {name}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    total_wall = sum(w for w, _ in engine.timings)
    total_cpu = sum(c for _, c in engine.timings)
    print(
        f"{len(engine.timings)} images read: {total_wall:.0f} s wall, {total_cpu:.0f} s CPU "
        f"in OCR; {time.perf_counter() - started:.0f} s in all"
    )
    print_cost_table(outcomes)
    print_accuracy_table(outcomes)
    if args.compare_threads:
        compare_threads(items)


if __name__ == "__main__":
    main()
