"""``rest-checks``: run the suite, and look at the items and at the images a model would see.

rest-checks run [PYTEST ARGS...]   (the installed suite: pytest --pyargs rest_checks.suite ...)
rest-checks items --suite soebench -n 5 [--seed S] [--format LAYOUT] [--json]
rest-checks render ITEM_ID [--font F --dpi D --fg C --bg C] -o out.png [--modality image|mixed]
rest-checks report RESULTS.json -o report.html
rest-checks compare A.json B.json [-o comparison.html]
rest-checks compare RUN.json RUN.json RUN.json ... | FOLDER [-o board.html] [--markdown board.md]
rest-checks cache list | prune [--older-than 30d] [--model M] | clear --model M | --all
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from rest_checks.atomic import write_atomic
from rest_checks.cache_commands import add_cache_parser
from rest_checks.compare import compare_results, format_comparison
from rest_checks.config import DEFAULT_SUITE, suite_list
from rest_checks.html_report import (
    ReportDependencyError,
    render_comparison_report,
    render_leaderboard_report,
    render_report,
    write_report,
)
from rest_checks.items.base import Item
from rest_checks.items.files import LAYOUT_NAMES, LoadResult
from rest_checks.items.suites import load_suite
from rest_checks.leaderboard import Run, build_leaderboard, leaderboard_markdown
from rest_checks.options import count_or_all, positive_int, probability, seed_int
from rest_checks.render.drawing import render_png
from rest_checks.render.specs import DEFAULT_SPEC, RenderSpec, describe_spec
from rest_checks.results_file import load_results, results_paths

GENERATED = ("soebench", "arith")
SUITE_MODULE = "rest_checks.suite"


def run_suite(pytest_args: Sequence[str]) -> int:
    """Run the installed REST suite with pytest in this process; every argument is
    pytest's (``--model X``, ``-n 4``, ``--snapshot-update``, ...). The rootdir, and with it
    ``baselines/`` and ``.rest-cache/``, is found from the current directory as usual."""
    import pytest

    return int(pytest.main(["--pyargs", SUITE_MODULE, *pytest_args]))


def _item_json(item: Item) -> dict[str, object]:
    return {
        "id": item.id,
        "task": item.task,
        "text": item.full_text(),
        "expected": item.expected,
        "answer_type": item.answer_type,
        **({"subject": item.subject} if item.subject else {}),
        **({"source": item.source} if item.source else {}),
    }


def _layout(args: argparse.Namespace) -> str | None:
    return None if args.format == "auto" else args.format


def cmd_items(args: argparse.Namespace) -> int:
    loads: list[LoadResult] = []
    items = load_suite(args.suite, args.n, args.seed, loads, _layout(args))
    for load in loads:  # item files: layout, how many were kept and dropped, and why
        print(load.message, file=sys.stderr)
    for item in items:
        if args.json:
            print(json.dumps(_item_json(item), ensure_ascii=False))
        else:
            print(f"== {item.id} ({item.task}, expected {item.expected})")
            print(item.full_text())
            print()
    return 0


def find_item(item_id: str, suite: Sequence[str], seed: int, layout: str | None = None) -> Item:
    """Regenerate enough of the suite to reach ``item_id``.

    Generated ids end in their index, so a generator runs just that far; the built-in
    multiple-choice set and item files are small and read whole.
    """
    match = re.search(r"(\d+)$", item_id)
    index = int(match.group(1)) if match else 0
    for source in suite:
        n = index if source in GENERATED and index > 0 else 0
        for item in load_suite((source,), n, seed, layout=layout):
            if item.id == item_id:
                return item
    raise LookupError(
        f"no item {item_id!r} in suite {','.join(suite)} with seed {seed}; "
        "list them with 'rest-checks items'"
    )


def cmd_render(args: argparse.Namespace) -> int:
    item = find_item(args.item_id, args.suite, args.seed, _layout(args))
    spec = RenderSpec(
        font=args.font or DEFAULT_SPEC.font,
        dpi=DEFAULT_SPEC.dpi if args.dpi is None else args.dpi,
        fg=args.fg or DEFAULT_SPEC.fg,
        bg=args.bg or DEFAULT_SPEC.bg,
    )
    text = item.context if args.modality == "mixed" else item.full_text()
    png = render_png(text, spec)
    Path(args.output).write_bytes(png)
    print(f"{args.output}: {item.id}, {args.modality} image, {describe_spec(spec)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    results_path = Path(args.results)
    results = load_results(results_path)
    # The pages a run saved are found beside the results file or from here.
    html = render_report(results, search=[results_path.resolve().parent, Path.cwd()])
    write_report(Path(args.output), html)
    print(f"{args.output}: report of {results['model']}, {results['n_items']} items")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    paths = results_paths([Path(p) for p in args.runs])
    if len(paths) < 2:
        raise ValueError(f"compare needs two or more results files, got {len(paths)}")
    if len(paths) > 2 or args.leaderboard or args.markdown:
        return _leaderboard(args, paths)
    first, second = load_results(paths[0]), load_results(paths[1])
    names = (str(paths[0]), str(paths[1]))
    for line in format_comparison(compare_results(first, second, names)):
        print(line)
    if args.output:
        write_report(Path(args.output), render_comparison_report(first, second, names))
        print(f"{args.output}: comparison written")
    return 0


def _leaderboard(args: argparse.Namespace, paths: Sequence[Path]) -> int:
    # Runs are named by their file names where those tell them apart, else by their paths.
    stems = [p.stem for p in paths]
    names = stems if len(set(stems)) == len(stems) else [str(p) for p in paths]
    runs = [Run(name, load_results(p)) for name, p in zip(names, paths, strict=True)]
    board = build_leaderboard(runs, args.alpha)
    markdown = leaderboard_markdown(board)
    print(markdown, end="")
    if args.markdown:
        write_atomic(Path(args.markdown), markdown)
        print(f"{args.markdown}: leaderboard written (Markdown)")
    if args.output:
        write_report(Path(args.output), render_leaderboard_report(board))
        print(f"{args.output}: leaderboard written (HTML)")
    return 0


# Long by its subcommands: one block of add_argument calls each, read as the command line's
# reference.
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rest-checks", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    # Listed for --help only: main() hands everything after "run" to pytest untouched.
    sub.add_parser(
        "run",
        help="run the REST suite with pytest; all further arguments are pytest's "
        "(rest-checks run --model X -n 4); 'rest-checks run --help' lists them",
        add_help=False,
    )

    items = sub.add_parser("items", help="list benchmark items")
    items.add_argument(
        "--suite",
        type=suite_list,
        default=DEFAULT_SUITE,
        help="comma list: soebench, arith, mcq, item-file or MMLU-directory paths",
    )
    items.add_argument(
        "--format", choices=("auto", *LAYOUT_NAMES), default="auto", help="item-file layout"
    )
    items.add_argument("-n", type=count_or_all, default=5, help="items per source (0: all)")
    items.add_argument("--seed", type=seed_int, default=0)
    items.add_argument("--json", action="store_true", help="JSON lines instead of text")
    items.set_defaults(run=cmd_items)

    render = sub.add_parser("render", help="write the image a model would see for an item")
    render.add_argument("item_id")
    render.add_argument("-o", "--output", required=True, help="PNG file to write")
    render.add_argument("--suite", type=suite_list, default=DEFAULT_SUITE)
    render.add_argument("--seed", type=seed_int, default=0)
    render.add_argument(
        "--format", choices=("auto", *LAYOUT_NAMES), default="auto", help="item-file layout"
    )
    render.add_argument("--font", help="a font of the repository's fonts/ (dejavu-sans, ...)")
    render.add_argument("--dpi", type=positive_int)
    render.add_argument("--fg", help="text colour, #rrggbb")
    render.add_argument("--bg", help="background colour, #rrggbb")
    render.add_argument("--modality", choices=("image", "mixed"), default="image")
    render.set_defaults(run=cmd_render)

    report = sub.add_parser("report", help="write the HTML report of a saved run")
    report.add_argument("results", help="a results file written with --rest-json")
    report.add_argument("-o", "--output", required=True, help="HTML file to write")
    report.set_defaults(run=cmd_report)

    compare = sub.add_parser(
        "compare",
        help="two saved runs side by side; three or more (or --leaderboard), a leaderboard",
    )
    compare.add_argument(
        "runs", nargs="+", help="results JSON files (--rest-json), or folders of them"
    )
    compare.add_argument("-o", "--output", help="also write the comparison as HTML")
    compare.add_argument(
        "--leaderboard", action="store_true", help="a leaderboard even of two runs"
    )
    compare.add_argument("--markdown", help="write the leaderboard as Markdown to this file")
    compare.add_argument(
        "--alpha",
        type=probability,
        default=0.05,
        help="family-wise level of the leaderboard's pairwise tests (Holm); default 0.05",
    )
    compare.set_defaults(run=cmd_compare)

    add_cache_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["run"]:
        return run_suite(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return int(args.run(args))
    except (LookupError, ValueError, OSError, ReportDependencyError) as exc:
        print(f"rest-checks: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
