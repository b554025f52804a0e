"""What the reference model costs, and how well it reads each REST+ rendering.

The reference model (RapidOCR + the exact reader) is the suite's default and its OCR
control, so its OCR time decides how many items a cold run can afford on a small machine,
and its accuracy per rendering says which REST+ variants are still legible. For every
chosen variant of ``REST_PLUS_GRID`` and ``--n`` items of each task it reads the ``image``
and ``mixed`` renderings (the ``ocr`` request shares the ``image`` PNG and is served from
the cache), then prints:

1. OCR seconds per image by DPI and task (DejaVu Sans, black on white): wall and CPU;
2. per variant: image and mixed accuracy, RER (text = image = mixed), mean CER of the
   transcription (whitespace ignored, as the metrics compute it) and wall seconds per
   image;
3. the control table: font x DPI x task, with RER, CER and seconds per image, and the
   two checks the control must pass on every black-on-white font at 100 and 200 DPI:
   RER of at least 97% in each task, and no fall in RER from 100 to 200 DPI;
4. with ``--failures``: each inconsistent case, with what was read and answered;
5. with ``--compare-threads``: one ONNX Runtime thread against its default on the
   200 DPI images, and whether the transcriptions are identical.

    python benchmarks/reference_cost.py                  # 2 items per task, about 150 images
    python benchmarks/reference_cost.py --n 4 --variants dejavu-sans-50dpi red-text
    # The control table on 30 items per task, one font per run, then all from the store:
    python benchmarks/reference_cost.py --n 30 --store /tmp/ocr --variants \\
        liberation-mono-100dpi liberation-mono-200dpi
    python benchmarks/reference_cost.py --n 30 --store /tmp/ocr --variants \\
        {dejavu-sans,liberation-mono,dancing-script}-{100,200}dpi

``--store DIR`` keeps every OCR result (with the seconds it took) in ``DIR``, under the
OCR engine's version and settings, so a long table can be built over several bounded runs
and a change to the reader alone is measured again without reading any image twice.
Seconds read from the store are those of the run that read the image.

Timings on a shared machine are noisy: the CPU column (process time) is the steadier one.

Measured on 30 items per task (seed 0), RER of the control before (RapidOCR 1.4.4 with
PP-OCRv4, shorter side scaled to 480 pixels; exact-reader/2) and after (RapidOCR 3.10 with
PP-OCRv6 small, the page scaled by its line height, pieces of a line joined;
exact-reader/3), soebench / arith / mcq:

    font              DPI   before                  after
    DejaVu Sans       100   100.0 / 86.7 / 100.0    100.0 / 100.0 / 100.0
    DejaVu Sans       200   100.0 / 93.3 / 100.0    100.0 / 100.0 / 100.0
    Liberation Mono   100   100.0 / 73.3 / 100.0    100.0 / 100.0 / 100.0
    Liberation Mono   200    96.7 / 73.3 / 100.0    100.0 / 100.0 / 100.0
    Dancing Script    100     0.0 /  0.0 /  90.0      0.0 / 100.0 / 100.0
    Dancing Script    200    46.7 /  6.7 / 100.0    100.0 / 100.0 / 100.0

OCR CPU seconds per image, one thread, the same 30 images in one process: 0.81 before,
0.40 after (DejaVu Sans, 200 DPI). Dancing Script at 100 DPI draws "=" as one bar two
pixels thick, a bold "-": every equation is read with "-" for "=", and the reader does not
guess signs, so no system is answered there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.models.reference import (
    ReferenceModel,
    boxes_from_rapidocr,
    load_rapidocr,
    ocr_version,
    reading_order_text,
)
from rest_checks.prompts import build_requests
from rest_checks.render.drawing import render_png
from rest_checks.render.specs import REST_PLUS_GRID, RenderSpec

TASKS = ("soebench", "arith", "mcq")
DPIS = (50, 100, 200)
#: The control's bar on legible renderings: RER per font, DPI and task.
CONTROL_FONTS = ("dejavu-sans", "liberation-mono", "dancing-script")
CONTROL_DPIS = (100, 200)
CONTROL_MIN_RER = 0.97


class OcrStore:
    """OCR results on disk, one JSON file per image, under a key of the engine's identity."""

    def __init__(self, root: Path, engine_identity: dict[str, Any]) -> None:
        key = hashlib.sha256(json.dumps(engine_identity, sort_keys=True).encode()).hexdigest()
        self.folder = root / key[:16]
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "engine.json").write_text(json.dumps(engine_identity, indent=2) + "\n")

    def _path(self, png: bytes) -> Path:
        return self.folder / f"{hashlib.sha256(png).hexdigest()}.json"

    def get(self, png: bytes) -> tuple[Any, float, float] | None:
        path = self._path(png)
        if not path.exists():
            return None
        entry = json.loads(path.read_text())
        return entry["result"], entry["wall"], entry["cpu"]

    def put(self, png: bytes, result: Any, wall: float, cpu: float) -> None:
        entry = {"result": _plain(result), "wall": wall, "cpu": cpu}
        path = self._path(png)
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps(entry))
        partial.replace(path)


def _plain(value: Any) -> Any:
    """RapidOCR's result as JSON values (it may hold tuples and NumPy numbers)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return float(value)


class TimedEngine:
    """Wraps the OCR engine and records wall and CPU seconds of every image it reads;
    with a store, images read before are taken from it (with the seconds they took)."""

    def __init__(self, threads: int | None, store: OcrStore | None = None) -> None:
        self.threads = threads
        self.store = store
        self._engine: Callable[[bytes], Any] | None = None
        self.timings: list[tuple[float, float]] = []
        self.stored = 0

    def factory(self) -> Callable[[bytes], Any]:
        return self

    def __call__(self, png: bytes) -> Any:
        if self.store is not None:
            hit = self.store.get(png)
            if hit is not None:
                result, wall, cpu = hit
                self.timings.append((wall, cpu))
                self.stored += 1
                return result
        if self._engine is None:
            self._engine = load_rapidocr(self.threads)
        wall, cpu = time.perf_counter(), time.process_time()
        result = self._engine(png)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.timings.append((wall, cpu))
        if self.store is not None:
            self.store.put(png, result, wall, cpu)
        return result


@dataclass
class Outcome:
    variant: str
    spec: RenderSpec
    item: Item
    answers: dict[str, str | None]
    transcription: str
    #: The transcription of the mixed request's image (the context alone).
    mixed_transcription: str
    notes: dict[str, str]
    timings: list[tuple[float, float]]

    @property
    def consistent(self) -> bool:
        values = [self.answers[m] for m in ANSWER_MODALITIES]
        return values[0] is not None and len(set(values)) == 1

    def cer(self) -> float:
        return character_error_rate(self.item.full_text(), self.transcription)


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
        notes: dict[str, str] = {m: responses[m].text.splitlines()[0] for m in ANSWER_MODALITIES}
        outcomes.append(
            Outcome(
                name,
                spec,
                item,
                answers,
                responses["ocr"].text,
                model.transcribe(requests["mixed"].image_png or b""),
                notes,
                engine.timings[start:],
            )
        )
    return outcomes


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _rer(rows: Sequence[Outcome]) -> float:
    return sum(r.consistent for r in rows) / len(rows) if rows else float("nan")


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
        f"{'CER':>7}{'s/img':>7}"
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
            f"{_rer(rows):>6.0%}{_mean([r.cer() for r in rows]):>7.3f}{wall:>7.2f}"
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


def print_control_table(outcomes: list[Outcome]) -> bool:
    """The control table (font x DPI x task) and its checks; True when all pass. Only
    the black-on-white variants of ``CONTROL_FONTS`` at ``CONTROL_DPIS`` that were run."""
    cells: dict[tuple[str, int, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        spec = o.spec
        if spec.font in CONTROL_FONTS and spec.dpi in CONTROL_DPIS and spec.fg == "#000000":
            cells[(spec.font, spec.dpi, o.item.task)].append(o)
    if not cells:
        return True
    print(
        "\nThe OCR control on legible renderings: RER (right and consistent), mean CER, "
        "wall / CPU seconds per image"
    )
    print(f"{'font':<17}{'DPI':>4}{'task':>10}{'items':>6}{'RER':>8}{'CER':>7}{'s/img':>13}")
    failures: list[str] = []
    for font in CONTROL_FONTS:
        for task in TASKS:
            rers: dict[int, float] = {}
            for dpi in CONTROL_DPIS:
                rows = cells.get((font, dpi, task), [])
                if not rows:
                    continue
                rers[dpi] = rer = _rer(rows)
                wall = _mean([w for r in rows for w, _ in r.timings])
                cpu = _mean([c for r in rows for _, c in r.timings])
                print(
                    f"{font:<17}{dpi:>4}{task:>10}{len(rows):>6}{rer:>8.1%}"
                    f"{_mean([r.cer() for r in rows]):>7.3f}{f'{wall:.2f} / {cpu:.2f}':>13}"
                )
                if rer < CONTROL_MIN_RER:
                    failures.append(f"{font} {dpi} DPI {task}: RER {rer:.1%} < 97%")
            if len(rers) == 2 and rers[200] < rers[100]:
                failures.append(
                    f"{font} {task}: RER falls from {rers[100]:.1%} at 100 DPI "
                    f"to {rers[200]:.1%} at 200 DPI"
                )
    all_timings = [t for rows in cells.values() for r in rows for t in r.timings]
    print(
        f"all {len(all_timings)} images: {_mean([w for w, _ in all_timings]):.2f} s wall, "
        f"{_mean([c for _, c in all_timings]):.2f} s CPU per image"
    )
    if failures:
        print("control checks FAILED:\n  " + "\n  ".join(failures))
    else:
        print(f"control checks passed: RER >= {CONTROL_MIN_RER:.0%} everywhere, no fall at 200 DPI")
    return not failures


def print_failures(outcomes: list[Outcome]) -> None:
    bad = [o for o in outcomes if not o.consistent]
    print(f"\nInconsistent cases: {len(bad)}")
    for o in bad:
        print(f"\n--- {o.variant} {o.item.id}: expected {o.item.expected!r}")
        for m in ANSWER_MODALITIES:
            print(f"  {m:<6} {o.answers[m]!r}: {o.notes[m][:160]}")
        print("  read: " + o.transcription.replace("\n", "\n        "))
        if o.answers["mixed"] != o.item.expected:
            print("  mixed: " + o.mixed_transcription.replace("\n", "\n        "))


def compare_threads(items: list[Item]) -> None:
    print("\nONNX Runtime threads, 200 DPI DejaVu image renderings")
    spec = REST_PLUS_GRID["dejavu-sans-200dpi"]
    pngs = [render_png(item.full_text(), spec) for item in items]
    results: dict[str, list[str]] = {}
    for label, threads in (("1 thread", 1), ("ORT default", None)):
        engine = TimedEngine(threads)
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
    parser.add_argument(
        "--store", type=Path, help="keep OCR results here and reuse the ones read before"
    )
    parser.add_argument("--failures", action="store_true", help="show each inconsistent case")
    parser.add_argument("--compare-threads", action="store_true")
    args = parser.parse_args()
    unknown = [v for v in args.variants if v not in REST_PLUS_GRID]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(REST_PLUS_GRID)}")

    items = load_suite(list(TASKS), args.n, args.seed)
    identity = ReferenceModel().identity()
    print(
        f"{ocr_version()}, {args.threads} ORT thread(s); {len(items)} items "
        f"({args.n} per task, seed {args.seed}), {len(args.variants)} variants"
    )
    print(f"model identity: {json.dumps(identity, sort_keys=True)}")
    engine_identity = {k: v for k, v in identity.items() if k.startswith("ocr")}
    store = OcrStore(args.store, engine_identity) if args.store else None
    engine = TimedEngine(args.threads, store)
    model = ReferenceModel(engine_factory=engine.factory)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for name in args.variants:
        outcomes.extend(run_variant(model, engine, name, REST_PLUS_GRID[name], items))
        print(f"  {name}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    total_wall = sum(w for w, _ in engine.timings)
    total_cpu = sum(c for _, c in engine.timings)
    print(
        f"{len(engine.timings)} images ({engine.stored} from the store): {total_wall:.0f} s "
        f"wall, {total_cpu:.0f} s CPU in OCR; this run {time.perf_counter() - started:.0f} s"
    )
    print_cost_table(outcomes)
    print_accuracy_table(outcomes)
    print_control_table(outcomes)
    if args.failures:
        print_failures(outcomes)
    if args.compare_threads:
        compare_threads(items)


if __name__ == "__main__":
    main()
