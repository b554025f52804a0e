"""How often the gate says passed, failed and inconclusive, by run size, churn and true drop.

    python benchmarks/gate_error_rates.py [--runs 4000] [--tolerance 0.02] [--alpha 0.05]

A simulated comparison of ``n`` shared items (``rest_checks.testing.gate_simulation``):
each item is lost with probability churn/2 + drop and gained with probability churn/2,
where churn is the share of items that change state between two runs of one model by
chance and drop the true paired RER drop. Each cell simulates ``--runs`` comparisons and
counts the verdicts the gate gives a whole run on those counts; ``exact`` is P(passed)
summed exactly over the distribution of (lost, gained). The columns:

- at drop = tolerance, P(passed) is the false-pass rate: at most alpha in every cell;
- at drop = 0, P(passed) is the chance that an unchanged model passes (the power to size
  a run with), P(failed) the false-fail rate (at most alpha / 2);
- at drop = 2 x tolerance, P(failed) is the chance that a real regression is caught.

Prints a Markdown table (docs/gate.md holds one run of it).
"""

from __future__ import annotations

import argparse

from rest_checks.testing.gate_simulation import SimulatedRates, exact_pass_rate, simulate

SIZES = (150, 450, 1000, 3000)
CHURNS = (0.0, 0.05, 0.10, 0.20)


def _cell(share: float, runs: int) -> str:
    return f"{100 * share:5.1f}% ± {100 * SimulatedRates.standard_error(share, runs):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000, help="simulated runs per cell")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tol, alpha, runs = args.tolerance, args.alpha, args.runs
    print(
        f"tolerance {100 * tol:g} points, alpha {alpha}, {runs} simulated runs per cell "
        "(± one standard error)\n"
    )
    print(
        "| n | churn | P(passed), drop = tol | exact | P(passed), no drop "
        "| P(failed), no drop | P(failed), drop = 2 x tol | P(inconclusive), drop = 2 x tol |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for n in SIZES:
        for churn in CHURNS:
            seed = args.seed + n + round(churn * 1000)
            at_tol = simulate(n, churn, tol, tol, alpha, runs, seed)
            none = simulate(n, churn, 0.0, tol, alpha, runs, seed + 1)
            double = simulate(n, churn, 2 * tol, tol, alpha, runs, seed + 2)
            exact = exact_pass_rate(n, churn, tol, tol, alpha)
            worst = max(worst, exact)
            print(
                f"| {n} | {100 * churn:g}% | {_cell(at_tol.passed, runs)} | {100 * exact:.2f}% "
                f"| {_cell(none.passed, runs)} | {_cell(none.failed, runs)} "
                f"| {_cell(double.failed, runs)} | {_cell(double.inconclusive, runs)} |"
            )
    print(f"\nlargest exact false-pass rate over the grid: {100 * worst:.2f}% (alpha {alpha})")


if __name__ == "__main__":
    main()
