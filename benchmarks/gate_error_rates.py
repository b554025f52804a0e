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

from rest_checks.testing.gate_simulation import (
    exact_pass_rate,
    share_cell,
    simulate,
    simulation_arguments,
)

SIZES = (150, 450, 1000, 3000)
CHURNS = (0.0, 0.05, 0.10, 0.20)


def main() -> None:
    args = simulation_arguments(__doc__.splitlines()[0], runs=4000)
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
                f"| {n} | {100 * churn:g}% | {share_cell(at_tol.passed, runs)} "
                f"| {100 * exact:.2f}% "
                f"| {share_cell(none.passed, runs)} | {share_cell(none.failed, runs)} "
                f"| {share_cell(double.failed, runs)} | {share_cell(double.inconclusive, runs)} |"
            )
    print(f"\nlargest exact false-pass rate over the grid: {100 * worst:.2f}% (alpha {alpha})")


if __name__ == "__main__":
    main()
