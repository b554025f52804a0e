"""The harness's own speed outside the model, before and after, measured in one run.

    python benchmarks/harness_speed.py [--before DIR] [--main-job] [--ocr]

``--before DIR`` names a checkout of an earlier commit (``git worktree add /tmp/before
REV``): its suite runs with this interpreter, ``PYTHONPATH=DIR`` and DIR as the working
directory, next to this checkout's, so every ratio comes from one run on one machine.
Rows:

- **render + encode**: ms per page for the texts of a run's items on the REST+ grid and
  the default rendering; before: the RGB page as a PNG at zlib level 6 (the former
  encoder), after: :func:`render_png`'s palette PNG. Both in this process, same pages.
- **plugin in other tests' runs**: a pytest run of one trivial test with the installed
  plugin loaded, less the same run without it: what every pytest run of an environment
  with rest-checks installed pays.
- **collect**: ``pytest --collect-only`` of a 1,500-item file (built here) with
  ``--rest-n 0 --rest-plus --rest-plus-n 0`` (1,500 x 15 = 22,500 cases), ``mock:oracle``:
  wall seconds and the peak memory (RSS) of the process.
- **cached rerun**: the same suite on the first ``--rerun-items`` items of that file, run
  once to fill a fresh cache, then again: the second run's wall ms per case (no model
  calls: every reply comes from the cache) and its peak memory; and the harness's own
  ms per case beyond pytest's: less the wall of a run of as many empty parametrised tests
  (pytest's setup, call, teardown and reporting, about 1 ms a test here).
- **main job cold** (``--main-job``): ``pytest -n 2 --rest-plus --rest-n 10`` on the
  reference model with an empty cache: wall seconds and exit status;
  ``--main-job-single``: the same without xdist, in one process.
- **OCR pages** (``--ocr``): the reference model in one process reading the image and
  mixed pages of 6 items on 3 renderings, one page at a time (ONNX Runtime's own thread
  count, the former default) against one page per core with one thread each; and
  RapidOCR's batched line recognition against one line at a time (seconds per line and
  lines read differently).

Timings depend on the machine and its load; the header prints the load average. On two
cores (load average 1.0-2.5), children keeping compiled bytecode, ``--before`` commit
f9ba9ee, ``--scale --main-job``::

                                          before     after    ratio
    render + encode, ms/page                14.5       4.4    3.28x   PNG 19.4 -> 9.7 KB
    fresh calls / bare render+encode           -     0.95x            780 pages rendered 780 times
    plugin in other tests' runs, s          0.11      0.08    1.42x   one test
    collect 22500 cases, s                   4.1       3.2    1.30x
    collect, peak MB                         127       127    1.00x
    cached rerun of 5250 cases, ms/case      3.5       2.6    1.33x   fastest of 3
      beyond pytest's own, ms/case           2.5       1.7    1.52x   less 5.0 s of empty tests
    cached rerun, peak MB                    109       105    1.04x
    full run of 22500 cases, s               192       209    0.92x   both exit 0
    full run, peak MB                        343       286    1.20x
    full run, fullest cache directory        304       306    0.99x   entries
    main job cold (-n 2), s                   76        70    1.09x   both exit 0

The fresh calls row varied from 0.7x to 1.24x between runs of the same code: the render
threads overlap only where zlib's encoder releases the GIL, so it depends on whether the
second core is free. The full run is slower than before because only its first 20,000
replies stay in memory and its tests read the rest back from disk: the price of a peak
under 300 MB. With ``--ocr``, the reference model's rows (an earlier run)::

    OCR, 1 process: wall s/page             0.33      0.23    1.42x   same replies
    OCR lines, CPU s/line                  0.048     0.096    0.50x   22 of 127 lines differ

The last row is why line recognition stays one line per call: batching a page's lines
pads them to the widest, which costs more and changes what is read.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from children import child_env, describe

from rest_checks.items import load_suite
from rest_checks.render.drawing import clear_render_cache, render_image, render_png
from rest_checks.render.specs import DEFAULT_SPEC, REST_PLUS_GRID

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 1500
FORMER_COMPRESS_LEVEL = 6


def write_items(path: Path, count: int) -> None:
    """``count`` four-option questions in the JSONL layout of item files."""
    rng = random.Random(0)
    with path.open("w") as out:
        for index in range(count):
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            options = [str(a + b + d) for d in (0, 1, -1, 2)]
            rng.shuffle(options)
            row = {
                "id": f"sum-{index:04d}",
                "question": f"What is {a} + {b}?",
                "options": options,
                "answer": "ABCD"[options.index(str(a + b))],
                "subject": "arithmetic",
            }
            out.write(json.dumps(row) + "\n")


class Child:
    """What one ``python -m pytest`` run took."""

    def __init__(self, wall: float, cpu: float, peak_mb: int, output: str) -> None:
        self.wall = wall
        self.cpu = cpu
        self.peak_mb = peak_mb
        self.output = output


# Where children keep compiled bytecode (``children.child_env``); None: as the caller's
# environment says.
PYCACHE: list[Path | None] = [None]


def run_child(args: Sequence[str], cwd: Path, pythonpath: Path | None) -> Child:
    """Run ``python -m pytest ARGS``: wall and CPU seconds (CPU with the xdist workers it
    waited for), its own peak RSS in MB, and its output."""
    extra = {} if pythonpath is None else {"PYTHONPATH": str(pythonpath)}
    env = child_env(None, PYCACHE[0], **extra)
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *args],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    # ru_maxrss is in KB on Linux and the largest of the process and its descendants.
    cpu = usage.ru_utime + usage.ru_stime
    return Child(wall, cpu, usage.ru_maxrss // 1024, f"exit {process.returncode}\n{text}")


def count_cases(output: str) -> int:
    found = re.search(r"(\d+) tests? collected", output) or re.search(r"(\d+) passed", output)
    return int(found.group(1)) if found else 0


def trees(before: Path | None) -> list[tuple[str, Path, Path | None]]:
    listed: list[tuple[str, Path, Path | None]] = []
    if before is not None:
        listed.append(("before", before, before))
    listed.append(("after", ROOT, None))
    return listed


# --- rows --------------------------------------------------------------------------------


def render_row(repeat: int) -> None:
    items = load_suite(["soebench", "arith", "mcq"], 10, 0)
    pages = [(item.full_text(), spec) for item in items for spec in (DEFAULT_SPEC,)]
    pages += [(item.full_text(), spec) for item in items[:2] for spec in REST_PLUS_GRID.values()]

    def former(text: str, spec: object) -> bytes:
        buffer = io.BytesIO()
        image = render_image(text, spec)  # type: ignore[arg-type]
        image.save(buffer, format="PNG", compress_level=FORMER_COMPRESS_LEVEL, optimize=False)
        return buffer.getvalue()

    def current(text: str, spec: object) -> bytes:
        clear_render_cache(fonts=False)
        return render_png(text, spec)  # type: ignore[arg-type]

    results: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):  # alternate, so that a change of load hits both alike
        for label, encoder in (("before", former), ("after", current)):
            start = time.perf_counter()
            sizes = [len(encoder(text, spec)) for text, spec in pages]
            ms = (time.perf_counter() - start) * 1000 / len(pages)
            best = results.get(label, (float("inf"), 0.0))[0]
            results[label] = (min(best, ms), statistics.fmean(sizes) / 1024)
    (b_ms, b_kb), (a_ms, a_kb) = results["before"], results["after"]
    print(
        f"{'render + encode, ms/page':<34}{b_ms:>10.1f}{a_ms:>10.1f}{b_ms / a_ms:>8.2f}x"
        f"   {len(pages)} pages, best of {repeat}; PNG {b_kb:.1f} -> {a_kb:.1f} KB"
    )


def fresh_calls_row(repeat: int) -> None:
    """Goal 3: a fresh run's harness cost for pages against rendering them bare.

    The requests of 30 items on the default rendering and the REST+ grid go through
    ``ModelCalls`` (no disk cache) to a model that only reads each request's PNG bytes:
    the harness's wall time (keys, the render pool, storing replies) against the bare
    ``render_png`` time of the same distinct pages, and how many times a page is rendered.
    """
    from rest_checks import pages as pages_module
    from rest_checks.model_gateway import ModelCalls
    from rest_checks.models.base import Model, Response
    from rest_checks.prompts import Request, build_requests

    class PageReader(Model):
        spec = "page-reader"

        def identity(self) -> dict[str, object]:
            return {"backend": "page-reader"}

        def generate(self, requests: Sequence[Request]) -> list[Response]:
            return [Response(str(len(r.image_png or b""))) for r in requests]

    items = load_suite(["soebench", "arith", "mcq"], 10, 0)
    specs = [DEFAULT_SPEC, *REST_PLUS_GRID.values()]
    requests = [r for item in items for spec in specs for r in build_requests(item, spec).values()]
    distinct = {(r.page.text, r.page.spec) for r in requests if r.page is not None}  # type: ignore[attr-defined]
    renders = [0]
    real_render = pages_module.render_png

    def counting(text: str, spec: object) -> bytes:
        renders[0] += 1
        return real_render(text, spec)  # type: ignore[arg-type]

    bare_best = harness_best = float("inf")
    for _ in range(repeat):  # alternate, so that a change of load hits both alike
        clear_render_cache(fonts=False)
        start = time.perf_counter()
        for text, spec in distinct:
            render_png(text, spec)
        bare_best = min(bare_best, time.perf_counter() - start)
        clear_render_cache(fonts=False)
        renders[0] = 0
        pages_module.render_png = counting  # type: ignore[assignment]
        try:
            start = time.perf_counter()
            ModelCalls(PageReader(), None).generate(requests)
            harness_best = min(harness_best, time.perf_counter() - start)
        finally:
            pages_module.render_png = real_render
    _print_pair(
        "fresh calls / bare render+encode",
        {"after": harness_best / bare_best},
        "{:.2f}x",
        f"{len(requests)} requests, {len(distinct)} distinct pages rendered {renders[0]} times; "
        f"bare {bare_best:.2f} s, through the harness {harness_best:.2f} s (best of {repeat})",
    )


def full_grid_args(items_file: Path, cache: Path) -> list[str]:
    """Every item of ``items_file`` on the whole REST+ grid, answered by ``mock:oracle``."""
    return [
        "--model",
        "mock:oracle",
        f"--rest-suite={items_file}",
        "--rest-n",
        "0",
        "--rest-plus",
        "--rest-plus-n",
        "0",
        f"--rest-cache={cache}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]


def warm_up(items_file: Path, before: Path | None, workdir: Path) -> None:
    """One untimed run of each tree, so the timed ones find their bytecode compiled."""
    for _, cwd, path in trees(before):
        args = [*full_grid_args(items_file, workdir / "warm-up"), "--collect-only"]
        run_child([*args, "tests/test_rest_suite.py"], cwd, path)
        # The main job's collection loads the reference model, importing its OCR.
        run_child(["--collect-only", "-q", "-p", "no:cacheprovider", "--rest-n", "1"], cwd, path)
    floor_wall(1, workdir)


def collect_row(items_file: Path, before: Path | None, cache: Path) -> None:
    args = [*full_grid_args(items_file, cache), "--collect-only"]
    walls, cpus, rss, cases = {}, {}, {}, 0
    for label, cwd, path in trees(before):
        child = run_child(args, cwd, path)
        walls[label], cpus[label], rss[label] = child.wall, child.cpu, child.peak_mb
        cases = count_cases(child.output)
    _print_pair(f"collect {cases} cases, s", walls, "{:.1f}")
    _print_pair("collect, CPU s", cpus, "{:.1f}")
    _print_pair("collect, peak MB", rss, "{:.0f}")


def floor_wall(cases: int, workdir: Path) -> float:
    """Wall seconds of pytest alone running ``cases`` trivial parametrised tests (without
    rest-checks' plugin; Hypothesis's, syrupy's and xdist's load as usual): what any
    suite of that many tests costs here, the harness's own time being what a run takes
    beyond it."""
    folder = workdir / "floor"
    folder.mkdir(exist_ok=True)
    (folder / "test_floor.py").write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize('case', range({cases}))\n"
        "def test_case(case):\n"
        "    assert case >= 0\n"
    )
    args = ["test_floor.py", "-q", "-p", "no:cacheprovider", "-p", "no:rest_checks"]
    child = run_child(args, folder, None)
    if f"{cases} passed" not in child.output:
        raise RuntimeError(f"the floor run failed:\n{child.output[-2000:]}")
    return child.wall


def plugin_row(before: Path | None, workdir: Path, repeat: int = 9) -> None:
    """What the installed plugin adds to a pytest run of other tests (one trivial test):
    the run's wall with the plugin loaded, less the same run without it (fastest of
    ``repeat`` each)."""
    floor_wall(1, workdir)  # writes the one-test file
    folder = workdir / "floor"
    args = ["test_floor.py", "-q", "-p", "no:cacheprovider"]
    shares = {}
    for label, _, path in trees(before):
        with_plugin = min(run_child(args, folder, path).wall for _ in range(repeat))
        without = min(
            run_child([*args, "-p", "no:rest_checks"], folder, path).wall for _ in range(repeat)
        )
        # Within the noise of a process start the difference can come out below zero.
        shares[label] = max(0.0, with_plugin - without)
    note = f"one test, with less without (fastest of {repeat})"
    label = "plugin in other tests' runs, s"
    if shares["after"] < 0.02:  # no ratio to a figure inside the noise
        before_text = f"{shares['before']:.2f}" if "before" in shares else "-"
        print(f"{label:<34}{before_text:>10}{'< 0.02':>10}{'':>9}   {note}")
        return
    _print_pair(label, shares, "{:.2f}", note)


def rerun_row(items_file: Path, before: Path | None, workdir: Path, rounds: int = 3) -> None:
    """Goal 2: the cached rerun, each tree's timed run ``rounds`` times, the trees taking
    turns so that a change of load falls on both alike; the fastest run of each counts,
    and the fastest of as many empty-test runs is pytest's own share."""
    listed = trees(before)
    args = {
        label: [
            *full_grid_args(items_file, workdir / f"cache-{label}"),
            f"--rest-baseline={workdir / 'none.json'}",
            "tests/test_rest_suite.py",
        ]
        for label, _, _ in listed
    }
    for label, cwd, path in listed:
        run_child(args[label], cwd, path)  # fills the cache
    fastest: dict[str, Child] = {}
    for _ in range(rounds):
        for label, cwd, path in listed:
            child = run_child(args[label], cwd, path)
            if label not in fastest or child.wall < fastest[label].wall:
                fastest[label] = child
    cases = count_cases(fastest["after"].output)
    floor = min(floor_wall(cases, workdir) for _ in range(rounds))
    per_case = 1000 / max(cases, 1)
    walls = {label: child.wall * per_case for label, child in fastest.items()}
    over_floor = {label: (child.wall - floor) * per_case for label, child in fastest.items()}
    cpus = {label: child.cpu * per_case for label, child in fastest.items()}
    rss = {label: float(child.peak_mb) for label, child in fastest.items()}
    _print_pair(f"cached rerun of {cases} cases, ms/case", walls, "{:.1f}", f"fastest of {rounds}")
    _print_pair(
        "  beyond pytest's own, ms/case",
        over_floor,
        "{:.1f}",
        f"less {floor:.1f} s for as many empty tests",
    )
    _print_pair("cached rerun, CPU ms/case", cpus, "{:.1f}")
    _print_pair("cached rerun, peak MB", rss, "{:.0f}")


def scale_row(items_file: Path, before: Path | None, workdir: Path) -> None:
    """Goal 5: the whole 22,500-case run, fresh: wall, peak memory, the fullest cache
    directory."""
    walls, rss, entries, cases, notes = {}, {}, {}, 0, []
    for label, cwd, path in trees(before):
        cache = workdir / f"scale-{label}"
        args = [
            *full_grid_args(items_file, cache),
            f"--rest-baseline={workdir / 'none.json'}",
            "tests/test_rest_suite.py",
        ]
        child = run_child(args, cwd, path)
        cases = count_cases(child.output)
        walls[label], rss[label] = child.wall, child.peak_mb
        entries[label] = max(
            (sum(1 for _ in d.iterdir()) for d in cache.iterdir() if d.is_dir()), default=0
        )
        notes.append(f"{label}: {child.output.splitlines()[0]}")
    _print_pair(f"full run of {cases} cases, s", walls, "{:.0f}", "; ".join(notes))
    _print_pair("full run, peak MB", rss, "{:.0f}")
    _print_pair("full run, fullest cache directory", entries, "{:.0f}", "entries")


def main_job_row(before: Path | None, workdir: Path, workers: int) -> None:
    walls: dict[str, float] = {}
    cpus: dict[str, float] = {}
    notes = []
    dist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    for label, cwd, path in trees(before):
        args = [
            *dist,
            "--rest-plus",
            "--rest-n",
            "10",
            f"--rest-cache={workdir / f'main-{label}-{workers}'}",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        child = run_child(args, cwd, path)
        walls[label], cpus[label] = child.wall, child.cpu
        notes.append(f"{label}: {child.output.splitlines()[0]}")
    name = f"-n {workers}" if workers else "1 process"
    _print_pair(f"main job cold ({name}), s", walls, "{:.0f}", "; ".join(notes))
    _print_pair(f"main job cold ({name}), CPU s", cpus, "{:.0f}")


def ocr_row() -> None:
    from rest_checks.models.reference import ReferenceModel
    from rest_checks.prompts import build_requests

    items = load_suite(["soebench", "arith", "mcq"], 2, 0)
    renderings = ("dejavu-sans-200dpi", "liberation-mono-100dpi", "dancing-script-50dpi")
    requests = [
        request
        for item in items
        for name in renderings
        for request in build_requests(item, REST_PLUS_GRID[name]).values()
    ]
    cores = len(os.sched_getaffinity(0))
    results: dict[str, tuple[float, float, list[str]]] = {}
    for label, workers, threads in (("before", 1, None), ("after", cores, 1)):
        model = ReferenceModel(ocr_workers=workers, ocr_threads=threads)
        model.transcribe(render_png("warm up 1 + 1", DEFAULT_SPEC))
        wall, cpu = time.perf_counter(), time.process_time()
        replies = model.generate(requests)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pages = model.ocr_calls - 1
        results[label] = (wall / pages, cpu / pages, [r.text for r in replies])
    same = results["before"][2] == results["after"][2]
    _print_pair(
        "OCR, 1 process: wall s/page",
        {k: v[0] for k, v in results.items()},
        "{:.2f}",
        f"1 page at a time (ORT threads) vs {cores} at once; CPU s/page "
        f"{results['before'][1]:.2f} -> {results['after'][1]:.2f}; same replies: {same}",
    )
    rec_batch_row(requests)


def rec_batch_row(requests: Sequence[object]) -> None:
    """RapidOCR's batched recognition of a page's lines against one line per call."""
    from rapidocr.ch_ppocr_rec.typings import TextRecInput

    from rest_checks.models.reference import load_rapidocr

    reader = load_rapidocr(1)
    engine = reader._engine  # type: ignore[attr-defined]
    lines: list[list[object]] = []

    class Recorder:
        def __call__(self, image: object, **options: object) -> object:
            if not options.get("use_det"):
                lines[-1].append(engine.preprocess_img(engine.load_img(image))[0])
            return engine(image, **options)

    reader._engine = Recorder()  # type: ignore[attr-defined]
    pngs = {r.image_png for r in requests if getattr(r, "image_png", None)}  # type: ignore[attr-defined]
    for png in sorted(pngs):
        lines.append([])
        reader(png)
    recogniser = engine._load_rec_model()
    start = time.process_time()
    single = [recogniser(TextRecInput(img=[line])).txts[0] for page in lines for line in page]
    single_s = time.process_time() - start
    start = time.process_time()
    batched = [t for page in lines for t in recogniser(TextRecInput(img=page)).txts]
    batched_s = time.process_time() - start
    count = len(single)
    differ = sum(a != b for a, b in zip(single, batched, strict=True))
    _print_pair(
        "OCR lines, CPU s/line",
        {"before": single_s / count, "after": batched_s / count},
        "{:.3f}",
        f"one line per call vs a page's lines batched (not adopted): {differ} of {count} "
        "lines read differently",
    )


def _print_pair(label: str, values: dict[str, float], fmt: str, note: str = "") -> None:
    before = values.get("before")
    after = values["after"]
    ratio = f"{before / after:>8.2f}x" if before is not None and after else f"{'':>9}"
    before_text = fmt.format(before) if before is not None else "-"
    print(f"{label:<34}{before_text:>10}{fmt.format(after):>10}{ratio}   {note}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="checkout of the earlier commit")
    parser.add_argument("--repeat", type=int, default=3, help="render passes (default 3)")
    parser.add_argument(
        "--rerun-items", type=int, default=350, help="items of the cached rerun (default 350)"
    )
    parser.add_argument(
        "--scale", action="store_true", help="run the whole 22,500-case file fresh (minutes)"
    )
    parser.add_argument("--main-job", action="store_true", help="time the main job cold")
    parser.add_argument(
        "--main-job-single", action="store_true", help="time it cold without xdist too"
    )
    parser.add_argument("--ocr", action="store_true", help="time the reference model's OCR")
    parser.add_argument("--skip-suite", action="store_true", help="no collect / rerun rows")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="children compile every module on every run (as with PYTHONDONTWRITEBYTECODE)",
    )
    args = parser.parse_args()
    before = args.before.resolve() if args.before else None
    with tempfile.TemporaryDirectory(prefix="harness-speed-") as tmp:
        workdir = Path(tmp)
        PYCACHE[0] = None if args.no_bytecode_cache else workdir / "pycache"
        print(
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
            f"{describe(PYCACHE[0])}; before: {before or '(none)'}"
        )
        print(f"{'':<34}{'before':>10}{'after':>10}{'ratio':>9}")
        render_row(args.repeat)
        fresh_calls_row(args.repeat)
        items_file = workdir / "items.jsonl"
        write_items(items_file, ITEMS)
        if PYCACHE[0] is not None:
            warm_up(items_file, before, workdir)
        if not args.skip_suite:
            plugin_row(before, workdir)
            collect_row(items_file, before, workdir / "collect-cache")
            rerun_file = workdir / "rerun.jsonl"
            write_items(rerun_file, args.rerun_items)
            rerun_row(rerun_file, before, workdir)
        if args.scale:
            scale_row(items_file, before, workdir)
        if args.main_job:
            main_job_row(before, workdir, workers=2)
        if args.main_job_single:
            main_job_row(before, workdir, workers=0)
    if args.ocr:
        ocr_row()
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
