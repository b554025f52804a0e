"""The API path end to end: how close a whole ``pytest`` run gets to the network's ideal.

The REST suite runs (``pytest tests/test_rest_suite.py --model openai:test-model``) against
a loopback Chat Completions server that answers every request after a fixed latency and
serves as many at once as the client sends. 150 items x 4 calls, fresh runs:

- 32 in flight at 200 ms (a paid API), ``-n 0``, ``--rest-no-cache``;
- 64 in flight at 50 ms (a fast server: a local vLLM), ``-n 0`` and ``-n 2``, each with
  ``--rest-no-cache`` and with an empty cache folder;

each with the wall of the whole run against the ideal ``calls x latency / in flight``,
the start-up until the server's first request, the time from there to the last reply
(against the same ideal: the part of the run the harness can overlap with the network),
the most requests the server had in flight at once, and the harness's CPU per request
(the pytest processes' user + system time; the server runs in this process, not
counted); ``-n 2`` rows also give their wall against the ``-n 0`` run's. Then two floors:
a bare interpreter importing pytest, the plugin and the backend (part of every
start-up), and the CPU time of rendering the run's distinct pages once each on one core;
and a rerun served from a warm disk cache: its cost per case, whole and after subtracting
the same run's ``--collect-only`` time (start-up and collection).

``--before DIR`` measures a second checkout (e.g. an earlier commit unpacked with ``git
archive``) in the same run, so the table's before/after ratios come from one machine state:

    git archive 30df873 | tar -x -C /tmp/before
    python benchmarks/api_path.py --before /tmp/before
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rest_checks.case_requests import case_requests
from rest_checks.items.suites import load_suite
from rest_checks.render.drawing import clear_render_cache
from rest_checks.testing import ChatCompletionsServer, ServerState, request_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from children import child_env, describe

REPO = Path(__file__).resolve().parents[1]
SUITES = "soebench,arith,mcq"
# What every run of the suite imports before it can send a request.
IMPORTED_AT_START = "pytest, rest_checks.plugin, rest_checks.models.openai_api"


def consistent_answer(request_json: object, state: ServerState) -> str:
    """The same answer in every modality, of the form each item type asks for, so every
    case passes and the run measures the path of a consistent model (a failing test costs
    pytest far more than a passing one)."""
    text = request_text(request_json)
    if "Transcribe" in text:
        return "A transcription of the page."
    if "letter of the correct option" in text:
        return "Reading the options.\nANSWER: B"
    if "value of every variable" in text:
        return "Solving the system.\nANSWER: A = 1, B = 2, C = 3"
    return "Working it out.\nANSWER: 42"


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    calls: int
    returncode: int
    # From the start of the process to the server's first request, and from there to the
    # last reply: the part of the run in which requests are on their way.
    startup_s: float = 0.0
    requests_s: float = 0.0
    # The most requests the server had in flight at once during the run.
    peak_in_flight: int = 0


def run_suite(
    checkout: Path,
    work: Path,
    server: ChatCompletionsServer,
    *,
    per_source: int,
    concurrency: int,
    cache: Path | None,
    workers: int = 0,
    extra: tuple[str, ...] = (),
    pycache: Path | None = None,
) -> Measured:
    """One ``pytest`` run of ``checkout``'s suite (``workers``: xdist's ``-n``, 0 for none);
    wall, child CPU time, server calls and the server's peak of requests in flight."""
    work.mkdir(parents=True, exist_ok=True)
    for name, source in (
        ("test_rest_suite.py", checkout / "tests" / "test_rest_suite.py"),
        ("conftest.py", checkout / "conftest.py"),
    ):
        (work / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    # The checkout's rest_checks comes first on the path, before any installed one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REST_", "OPENAI_"))}
    env = child_env(env, pycache, PYTHONPATH=str(checkout))
    caching = ["--rest-cache", str(cache)] if cache is not None else ["--rest-no-cache"]
    xdist = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    command = [
        sys.executable,
        "-m",
        "pytest",
        "test_rest_suite.py",
        "-q",
        *xdist,
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--model",
        "openai:test-model",
        "--model-base-url",
        server.base_url,
        "--rest-suite",
        SUITES,
        "--rest-n",
        str(per_source),
        "--rest-concurrency",
        str(concurrency),
        *caching,
        *extra,
    ]
    before_calls = len(server.state.completions)
    with server.state.lock:
        server.state.max_in_flight = 0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()  # the server stamps requests with this clock
    done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    # A --collect-only run ends with its planned cases unanswered, which fails it.
    if done.returncode != 0 and "--collect-only" not in extra:
        raise RuntimeError(f"pytest failed ({done.returncode}):\n{done.stdout[-3000:]}")
    calls = server.state.completions[before_calls:]
    if not calls:
        return Measured(wall, cpu, 0, done.returncode)
    first = min(call.received_at for call in calls)
    last = max(call.answered_at for call in calls)
    peak = server.state.max_in_flight
    return Measured(wall, cpu, len(calls), done.returncode, first - started, last - first, peak)


@dataclass(frozen=True)
class Scenario:
    """One fresh run: requests in flight, the server's latency, xdist workers, and whether
    the run has a cache folder (empty at its start) or ``--rest-no-cache``."""

    in_flight: int
    latency: float
    workers: int = 0
    cache: bool = False

    @property
    def name(self) -> str:
        xdist = f"-n {self.workers}" if self.workers else "-n 0"
        caching = "empty cache folder" if self.cache else "--rest-no-cache"
        return f"{self.in_flight} in flight, {self.latency * 1000:.0f} ms, {xdist}, {caching}"


# The slow server of a paid API, then a fast one (a local vLLM answers in about 50 ms).
SCENARIOS = (
    Scenario(32, 0.2),
    Scenario(64, 0.05),
    Scenario(64, 0.05, cache=True),
    Scenario(64, 0.05, workers=2),
    Scenario(64, 0.05, workers=2, cache=True),
)


@dataclass(frozen=True)
class Figures:
    """Every row of the table for one checkout."""

    fresh: dict[Scenario, Measured]
    ideal: dict[Scenario, float]
    cached_per_case_ms: float
    cached_after_startup_ms: float
    cached_cpu_per_case_ms: float
    cases: int
    # A floor under every start-up: a bare interpreter importing pytest, the plugin and
    # the OpenAI-compatible backend.
    import_s: float = 0.0
    # A floor under the request phase on one core: rendering the run's pages.
    render_floor_s: float = 0.0


def render_floor(per_source: int, repeat: int = 3) -> float:
    """CPU seconds to render and encode, once each, the distinct pages a run sends (the
    image page and the mixed page of each item), in this process: a floor under the
    request phase of a run that renders its pages on one core, the fastest of ``repeat``."""
    items = load_suite(SUITES.split(","), per_source, 0)
    pages = {}
    for item in items:
        for request in case_requests(item, "default").values():
            if request.image is not None:
                pages[request.image.key] = request.image
    best = float("inf")
    for _ in range(repeat):
        clear_render_cache(fonts=False)
        started = time.process_time()
        for page in pages.values():
            page.fresh().png()
        best = min(best, time.process_time() - started)
    return best


def import_time(checkout: Path, module: str, pycache: Path | None, repeat: int = 3) -> float:
    """Wall seconds of ``python -c "import MODULE"``, the fastest of ``repeat`` runs."""
    env = child_env(None, pycache, PYTHONPATH=str(checkout))
    walls = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
        walls.append(time.monotonic() - started)
    return min(walls)


def fastest(runs: list[Measured]) -> Measured:
    """Of repeated runs, the one least disturbed by other work on the machine."""
    return min(runs, key=lambda m: m.wall_s)


def measure(
    checkouts: list[Path], per_source: int, repeat: int = 1, bytecode_cache: bool = True
) -> list[Figures]:
    """Every row for each checkout; each scenario runs for all checkouts back to back, so a
    change in the machine's load falls on both alike, ``repeat`` times (the fastest
    counts)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pycache = work / "pycache" if bytecode_cache else None
        if pycache is not None:
            with ChatCompletionsServer(consistent_answer, api_key=None, record=False) as server:
                for n, checkout in enumerate(checkouts):
                    run_suite(
                        checkout,
                        work / f"warm-up-{n}",
                        server,
                        per_source=per_source,
                        concurrency=1,
                        cache=None,
                        extra=("--collect-only",),
                        pycache=pycache,
                    )
        fresh: dict[tuple[int, Scenario], list[Measured]] = {}
        ideal: dict[Scenario, float] = {}
        for round_ in range(repeat):
            for scenario in SCENARIOS:
                for n, checkout in enumerate(checkouts):
                    name = f"fresh-{scenario.in_flight}-{scenario.workers}-{scenario.cache}"
                    with ChatCompletionsServer(
                        consistent_answer,
                        api_key=None,
                        latency=scenario.latency,
                        max_concurrent=scenario.in_flight,
                        record=False,
                    ) as server:
                        got = run_suite(
                            checkout,
                            work / f"{name}-{n}-{round_}",
                            server,
                            per_source=per_source,
                            concurrency=scenario.in_flight,
                            cache=work / f"{name}-{n}-{round_}-cache" if scenario.cache else None,
                            workers=scenario.workers,
                            pycache=pycache,
                        )
                    fresh.setdefault((n, scenario), []).append(got)
                    ideal[scenario] = got.calls * scenario.latency / scenario.in_flight
        reruns: dict[int, list[Measured]] = {}
        collects: dict[int, list[Measured]] = {}
        with ChatCompletionsServer(
            consistent_answer, api_key=None, max_concurrent=64, record=False
        ) as server:

            def cached_run(n: int, name: str, *extra: str) -> Measured:
                return run_suite(
                    checkouts[n],
                    work / f"{name}-{n}",
                    server,
                    per_source=per_source,
                    concurrency=64,
                    cache=work / f"cache-{n}",
                    extra=extra,
                    pycache=pycache,
                )

            for n in range(len(checkouts)):
                cached_run(n, "fill")
            for _ in range(repeat):
                for n in range(len(checkouts)):
                    reruns.setdefault(n, []).append(cached_run(n, "cached"))
                    collects.setdefault(n, []).append(cached_run(n, "collect", "--collect-only"))
        cases = 3 * per_source
        figures = []
        for n in range(len(checkouts)):
            rerun, collect = fastest(reruns[n]), fastest(collects[n])
            if rerun.calls:
                raise RuntimeError(f"the cached rerun made {rerun.calls} model calls")
            figures.append(
                Figures(
                    fresh={scenario: fastest(fresh[n, scenario]) for scenario in SCENARIOS},
                    ideal=ideal,
                    cached_per_case_ms=1000 * rerun.wall_s / cases,
                    cached_after_startup_ms=1000 * max(0.0, rerun.wall_s - collect.wall_s) / cases,
                    cached_cpu_per_case_ms=1000 * rerun.cpu_s / cases,
                    cases=cases,
                    import_s=import_time(checkouts[n], IMPORTED_AT_START, pycache),
                    # This process renders with this checkout's code only.
                    render_floor_s=render_floor(per_source) if checkouts[n] == REPO else 0.0,
                )
            )
        return figures


Row = tuple[str, float | None, str, float | None]


def scenario_rows(scenario: Scenario, after: Figures, before: Figures | None) -> list[Row]:
    """A fresh run's rows: wall, its ratio to the network ideal, start-up, the request
    phase, the peak of requests in flight the server saw, CPU per request; and, for
    ``-n 2``, the ratio of its wall to the same checkout's ``-n 0`` run of the same cache
    setting."""
    ideal = after.ideal[scenario]

    def pick(figures: Figures | None, get: Callable[[Measured], float]) -> float | None:
        return None if figures is None else get(figures.fresh[scenario])

    def both(get: Callable[[Measured], float]) -> tuple[float | None, float | None]:
        return pick(after, get), pick(before, get)

    def row(name: str, unit: str, get: Callable[[Measured], float]) -> Row:
        now, then = both(get)
        return (name, now, unit, then)

    rows = [
        row(f"{scenario.name}: pytest wall", " s", lambda m: m.wall_s),
        ("  network ideal", ideal, " s", ideal if before else None),
        row("  wall / ideal", "x", lambda m: m.wall_s / ideal),
        row("  start-up until the first request", " s", lambda m: m.startup_s),
        row("  first request to last reply / ideal", "x", lambda m: m.requests_s / ideal),
        row("  peak requests in flight (server)", "", lambda m: m.peak_in_flight),
        row("  harness CPU per request", "ms", lambda m: 1000 * m.cpu_s / max(1, m.calls)),
    ]
    if scenario.workers:
        alone = Scenario(scenario.in_flight, scenario.latency, 0, scenario.cache)

        def against_alone(figures: Figures | None) -> float | None:
            if figures is None:
                return None
            return figures.fresh[scenario].wall_s / figures.fresh[alone].wall_s

        rows.append(("  wall / the -n 0 wall", against_alone(after), "x", against_alone(before)))
    return rows


def table(after: Figures, before: Figures | None) -> list[str]:
    def cell(value: float | None, unit: str) -> str:
        if value is None:
            return "-"
        if unit == "":
            return f"{value:.0f}"
        return f"{value:.2f}{unit}" if unit != "ms" else f"{value:.1f} ms"

    rows: list[Row] = []
    for scenario in SCENARIOS:
        rows += scenario_rows(scenario, after, before)
    rows.insert(
        4,
        (
            "  of the start-up, importing pytest and rest-checks",
            after.import_s,
            " s",
            before.import_s if before else None,
        ),
    )
    first_fast = next(s for s in SCENARIOS if s.latency == 0.05)
    rows.append(
        (
            "rendering the 64/50 ms run's pages on one core / ideal",
            after.render_floor_s / after.ideal[first_fast],
            "x",
            None,
        )
    )

    def add(name: str, pick: str, unit: str) -> None:
        rows.append((name, getattr(after, pick), unit, getattr(before, pick) if before else None))

    add(f"cached rerun, {after.cases} cases: wall per case", "cached_per_case_ms", "ms")
    add("  less start-up and collection", "cached_after_startup_ms", "ms")
    add("  harness CPU per case", "cached_cpu_per_case_ms", "ms")
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {'before':>10}  {'after':>10}  {'after/before':>12}"]
    for name, now, unit, then in rows:
        ratio = f"{now / then:.2f}" if now is not None and then else "-"
        lines.append(f"{name:{width}}  {cell(then, unit):>10}  {cell(now, unit):>10}  {ratio:>12}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-source", type=int, default=50, help="items per task source")
    parser.add_argument("--before", type=Path, help="an earlier checkout to measure too")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest counts")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="children compile every module on every run (as with PYTHONDONTWRITEBYTECODE)",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    checkouts = [REPO] + ([args.before.resolve()] if args.before else [])
    cached = not args.no_bytecode_cache
    after, *earlier = measure(checkouts, args.per_source, max(1, args.repeat), cached)
    before = earlier[0] if earlier else None
    calls = 4 * 3 * args.per_source
    print(
        f"API path: {3 * args.per_source} items x 4 calls = {calls} requests; "
        f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"on {os.cpu_count()} cores; {describe(Path() if cached else None)}"
    )
    for line in table(after, before):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
