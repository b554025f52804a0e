"""Batch 1 against batch N for the Hugging Face backend, on a Qwen2-VL-2B-sized model.

Builds a randomly initialised bfloat16 Qwen2-VL with the sizes of Qwen2-VL-2B into a
temporary directory, loads it back through ``HFModel`` (the real ``from_pretrained``), and
times greedy generation of SoEBench image requests rendered at 200 DPI, first one request
at a time, then ``--batch`` at a time. Prints s per request, new tokens per second, the
throughput ratio, and how many answers of the requests run both ways agree (in bfloat16 on
a GPU, batch composition can change greedy answers: docs/gpu.md).

    PYTHONUNBUFFERED=1 python3 benchmarks/device_hf_batch.py              # one GPU, < 8 min
    python benchmarks/device_hf_batch.py --tiny                           # CPU smoke run
    python3 benchmarks/device_hf_batch.py --families                      # every family

``--families`` builds the tiny checkpoint of every family the backend claims (Qwen2-VL,
Qwen2.5-VL, LLaVA-1.5, and those of tests/tiny_models/families.py), and asks each for the
text, image, mixed and OCR requests of four suite items at batch size 4 and at batch 1, on
the GPU in bfloat16 when there is one (else the CPU in float32): one row per family with
the replies answered, the errors, the visual tokens and how many answers agree across the
two batch sizes.

Batch 1 runs request by request and stops starting new ones after ``--single-budget-s``,
so a slow GPU cannot push the whole script past its time limit. ``--json PATH`` (default
``$OUT/hf_batch.json`` when ``OUT`` is set) writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

# Run from a checkout without installing the package (the GPU machine has a bare python3);
# the checkpoint builders are imported from tests/tiny_models.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rest_checks.items.soebench import generate_soebench
from rest_checks.models.base import Response
from rest_checks.models.hf import HFModel
from rest_checks.prompts import Request, image_request
from rest_checks.render.specs import RenderSpec


@dataclass(frozen=True)
class Run:
    """One timed pass of ``generate`` over some requests at one batch size."""

    batch_size: int
    requests: int
    wall_s: float
    new_tokens: int
    visual_tokens_mean: float
    prompt_tokens_mean: float

    @property
    def s_per_request(self) -> float:
        return self.wall_s / self.requests

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.wall_s


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build_requests(n: int, dpi: int, new_tokens: int) -> list[Request]:
    spec = RenderSpec(dpi=dpi)
    return [
        replace(image_request(item, spec, f"{dpi}dpi"), max_tokens=new_tokens)
        for item in generate_soebench(n, seed=0)
    ]


def timed(
    model: HFModel, requests: list[Request], *, one_by_one: bool, budget_s: float | None
) -> tuple[Run, list[Response]]:
    """Generate ``requests``; one call each when ``one_by_one`` (stopping after ``budget_s``)."""
    responses: list[Response] = []
    _sync()
    started = time.perf_counter()
    if one_by_one:
        for request in requests:
            responses.extend(model.generate([request]))
            _sync()
            done = time.perf_counter() - started
            print(f"  batch 1: request {len(responses)} done at {done:.1f} s", flush=True)
            if budget_s is not None and done > budget_s:
                print(f"  batch 1: stopping after {budget_s:.0f} s budget", flush=True)
                break
    else:
        responses = model.generate(requests)
        _sync()
    wall = time.perf_counter() - started
    n = len(responses)
    run = Run(
        batch_size=model.batch_size,
        requests=n,
        wall_s=wall,
        new_tokens=sum(int(r.extra["new_tokens"]) for r in responses),
        visual_tokens_mean=sum(r.n_visual_tokens or 0 for r in responses) / n,
        prompt_tokens_mean=sum(int(r.extra["prompt_tokens"]) for r in responses) / n,
    )
    return run, responses


def common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def family_builders() -> dict[str, Any]:
    from tests.tiny_models.families import BUILDERS
    from tests.tiny_models.llava import build_tiny_llava
    from tests.tiny_models.qwen2_vl import build_tiny_qwen2_5_vl, build_tiny_qwen2_vl

    return {
        "qwen2_vl": build_tiny_qwen2_vl,
        "qwen2_5_vl": build_tiny_qwen2_5_vl,
        "llava": build_tiny_llava,
        **BUILDERS,
    }


def suite_requests(new_tokens: int) -> list[Request]:
    """The requests of four suite items (two arith, two SoEBench), OCR included."""
    from rest_checks.items.arith import generate_arith
    from rest_checks.prompts import build_requests as case_requests

    items = [*generate_arith(2, seed=0), *generate_soebench(2, seed=0)]
    return [
        replace(r, max_tokens=new_tokens)
        for item in items
        for r in case_requests(item, RenderSpec(dpi=100)).values()
    ]


def families_main(new_tokens: int, out: Path | None) -> int:
    """Every family's tiny checkpoint at batch size 4 and 1: one row each."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = "bfloat16" if device == "cuda" else "float32"
    requests = suite_requests(new_tokens)
    rows = []
    print(f"{len(requests)} requests per family, {new_tokens} new tokens, {device} {dtype}")
    with tempfile.TemporaryDirectory(prefix="hf-families-") as tmp:
        for name, build in family_builders().items():
            row: dict[str, Any] = {"family": name}
            try:
                path = build(Path(tmp) / name)
                model = HFModel(
                    str(path), spec=f"hf:{name}", device=device, dtype=dtype, batch_size=4
                )
                started = time.perf_counter()
                batched = model.generate(requests)
                _sync()
                row["wall_s_batch4"] = time.perf_counter() - started
                model.batch_size = 1
                single = model.generate(requests)
                model.close()
            except Exception as exc:  # a family that fails is a row, not the end of the run
                row["failure"] = f"{type(exc).__name__}: {exc}"[:300]
                rows.append(row)
                print(f"{name}: FAILED {row['failure']}", flush=True)
                continue
            visual = [r.n_visual_tokens for r in batched if r.n_visual_tokens]
            row.update(
                answered=sum(r.error is None for r in batched),
                errors=sum(r.error is not None for r in batched),
                visual_tokens_mean=sum(visual) / len(visual) if visual else 0,
                agree_batch1=sum(a.text == b.text for a, b in zip(batched, single, strict=True)),
                image_fit=model.image_fit,
            )
            rows.append(row)
            print(f"{name}: {row}", flush=True)
    print()
    print(
        f"{'family':<12} {'answered':>8} {'errors':>6} {'visual tok':>10} "
        f"{'= batch 1':>9} {'wall s':>7} {'image fit':<10}"
    )
    for row in rows:
        if "failure" in row:
            print(f"{row['family']:<12} FAILED: {row['failure']}")
            continue
        print(
            f"{row['family']:<12} {row['answered']:>5}/{len(requests):<2} {row['errors']:>6} "
            f"{row['visual_tokens_mean']:>10.0f} {row['agree_batch1']:>6}/{len(requests):<2} "
            f"{row['wall_s_batch4']:>7.1f} {row['image_fit']:<10}"
        )
    if out is not None:
        out.write_text(json.dumps({"device": device, "dtype": dtype, "rows": rows}, indent=2))
        print(f"wrote {out}")
    failed = [r for r in rows if "failure" in r or r.get("errors")]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on the CPU (smoke run)")
    parser.add_argument(
        "--families", action="store_true", help="every family's tiny checkpoint at batch 4"
    )
    parser.add_argument("--requests", type=int, default=None, help="requests at batch N")
    parser.add_argument("--single", type=int, default=None, help="requests at batch 1")
    parser.add_argument("--batch", type=int, default=None, help="the larger batch size")
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--dpi", type=int, default=None)
    parser.add_argument("--single-budget-s", type=float, default=200.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.json
    if out is None and os.environ.get("OUT"):
        name = "hf_families.json" if args.families else "hf_batch.json"
        out = Path(os.environ["OUT"]) / name
    if args.families:
        return families_main(args.new_tokens or 8, out)

    import torch

    from tests.tiny_models.qwen2_vl import build_qwen2_vl_2b_sized, build_tiny_qwen2_vl

    tiny = args.tiny
    n_batch = args.requests or (4 if tiny else 16)
    n_single = min(args.single or (2 if tiny else 8), n_batch)
    batch = args.batch or (4 if tiny else 16)
    new_tokens = args.new_tokens or (16 if tiny else 256)
    dpi = args.dpi or (100 if tiny else 200)
    device = "cuda" if torch.cuda.is_available() and not tiny else "cpu"
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "none"
    import transformers

    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, device {device} "
        f"({gpu}); {'tiny' if tiny else '2B-sized'} Qwen2-VL, random weights"
    )

    with tempfile.TemporaryDirectory(prefix="qwen2-vl-bench-") as tmp:
        started = time.perf_counter()
        path = build_tiny_qwen2_vl(tmp) if tiny else build_qwen2_vl_2b_sized(tmp, device=device)
        build_s = time.perf_counter() - started
        print(f"built the checkpoint in {build_s:.1f} s")

        started = time.perf_counter()
        requests = build_requests(n_batch, dpi, new_tokens)
        print(
            f"rendered {len(requests)} SoEBench items at {dpi} DPI in "
            f"{time.perf_counter() - started:.1f} s"
        )

        model = HFModel(
            str(path),
            spec="hf:bench",
            device=device,
            dtype="float32" if tiny else "bfloat16",
            batch_size=1,
        )
        started = time.perf_counter()
        model.load()
        load_s = time.perf_counter() - started
        # Warm-up: CUDA context, kernels' first launches, the processor's first call.
        model.generate([replace(requests[0], max_tokens=4)])

        print(f"batch 1 over {n_single} requests, {new_tokens} new tokens each ...", flush=True)
        single, single_out = timed(
            model, requests[:n_single], one_by_one=True, budget_s=args.single_budget_s
        )
        model.batch_size = batch
        print(f"batch {batch} over {n_batch} requests ...", flush=True)
        batched, batched_out = timed(model, requests, one_by_one=False, budget_s=None)
        identity = model.identity()
        model.close()

    compared = single.requests
    agree = sum(a.text == b.text for a, b in zip(single_out, batched_out[:compared], strict=True))
    prefix = [
        common_prefix(a.text, b.text)
        for a, b in zip(single_out, batched_out[:compared], strict=True)
    ]
    ratio = batched.tokens_per_s / single.tokens_per_s

    print()
    print(
        f"{'batch':>5} {'requests':>8} {'wall s':>8} {'s/request':>9} {'new tok/s':>9} "
        f"{'ratio':>6} {'visual tok':>10} {'prompt tok':>10}"
    )
    for run in (single, batched):
        print(
            f"{run.batch_size:>5} {run.requests:>8} {run.wall_s:>8.1f} {run.s_per_request:>9.2f} "
            f"{run.tokens_per_s:>9.1f} {run.tokens_per_s / single.tokens_per_s:>6.1f} "
            f"{run.visual_tokens_mean:>10.0f} {run.prompt_tokens_mean:>10.0f}"
        )
    print()
    print(
        f"answers equal at batch 1 and batch {batch}: {agree} of {compared}; "
        f"common prefix (characters): {prefix}"
    )
    print(f"build {build_s:.1f} s, load {load_s:.1f} s; throughput ratio {ratio:.1f}x")

    if out is not None:
        result = {
            "device": device,
            "gpu": gpu,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tiny": tiny,
            "dpi": dpi,
            "new_tokens": new_tokens,
            "build_s": build_s,
            "load_s": load_s,
            "identity": identity,
            "runs": [
                {**asdict(r), "s_per_request": r.s_per_request, "tokens_per_s": r.tokens_per_s}
                for r in (single, batched)
            ],
            "agree": agree,
            "compared": compared,
            "common_prefix_chars": prefix,
            "throughput_ratio": ratio,
        }
        out.write_text(json.dumps(result, indent=2))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
