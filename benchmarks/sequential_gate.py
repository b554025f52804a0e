"""How soon the sequential gate (``--rest-sequential``) stops, and what it says, next to the
fixed gate's verdict on all the items of the same simulated runs.

    python benchmarks/sequential_gate.py [--runs 400] [--tolerance 0.02] [--alpha 0.05]

Each simulated run (``rest_checks.testing.sequential_simulation``) is a suite of ``n``
items asked in waves of 50; each item is lost with probability churn/2 + drop and gained
with probability churn/2. The sequential rule is the code a run uses. Columns: the shares
of the sequential verdicts, the median and 90th percentile of items asked, and the fixed
gate's P(passed) and P(failed) on all ``n`` items of the same runs.

Prints two Markdown tables (docs/gate.md holds one run of them): the scenarios, and the
false-pass rate at a drop of exactly the tolerance over a grid of churn (at most alpha in
every cell: the guarantee).
"""

from __future__ import annotations

from rest_checks.testing.gate_simulation import share_cell, simulation_arguments
from rest_checks.testing.sequential_simulation import simulate_sequential

SIZES = (450, 1500)
# (what, churn, drop in multiples of the tolerance or absolute points)
SCENARIOS = (
    ("no change", 0.0, 0.0),
    ("no change", 0.05, 0.0),
    ("no change", 0.10, 0.0),
    ("drop = tolerance", 0.05, None),
    ("drop 5 points", 0.05, 0.05),
    ("drop 10 points", 0.05, 0.10),
)
GRID_CHURNS = (0.0, 0.05, 0.10, 0.15, 0.20)


def main() -> None:
    args = simulation_arguments(__doc__.splitlines()[0], runs=400)
    tol, alpha, runs = args.tolerance, args.alpha, args.runs
    print(
        f"tolerance {100 * tol:g} points, alpha {alpha}, waves of 50, {runs} simulated runs "
        "per cell (± one standard error)\n"
    )
    print(
        "| n | true | churn | sequential passed | failed | inconclusive | items asked, median "
        "| p90 | fixed gate passed | fixed gate failed |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in SIZES:
        for number, (what, churn, drop) in enumerate(SCENARIOS):
            r = simulate_sequential(
                n, churn, tol if drop is None else drop, tol, alpha, runs, args.seed + number
            )
            print(
                f"| {n} | {what} | {100 * churn:g}% | {share_cell(r.passed, runs)} "
                f"| {share_cell(r.failed, runs)} | {share_cell(r.inconclusive, runs)} "
                f"| {r.median_asked:g} ({100 * r.median_asked / n:.0f}%) | {r.p90_asked:g} "
                f"| {share_cell(r.fixed_passed, runs)} | {share_cell(r.fixed_failed, runs)} |"
            )
    print("\nP(passed) at a drop of exactly the tolerance (the false-pass rate)\n")
    print("| n | " + " | ".join(f"churn {100 * c:g}%" for c in GRID_CHURNS) + " |")
    print("|---:|" + "---:|" * len(GRID_CHURNS))
    worst = 0.0
    for n in SIZES:
        cells = []
        for number, churn in enumerate(GRID_CHURNS):
            r = simulate_sequential(n, churn, tol, tol, alpha, runs, args.seed + 100 + number)
            worst = max(worst, r.passed)
            cells.append(share_cell(r.passed, runs))
        print(f"| {n} | " + " | ".join(cells) + " |")
    print(f"\nlargest false-pass rate over the grid: {100 * worst:.1f}% (alpha {alpha})")


if __name__ == "__main__":
    main()
