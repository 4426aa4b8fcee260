"""Train MuZero on CartPole-v1, then play 100 greedy episodes (no noise, temperature 0).

    python benchmarks/cartpole.py [--seed 0] [--training-steps N] [--set FIELD=VALUE ...]
    python benchmarks/cartpole.py --seeds 0-4 [--jobs 2] [...]

Prints wall time, training steps, games played and the greedy returns; the last line is a
JSON object of the same figures. The run folder (CSV, PNG, weights) goes to --results-dir.
With ``--seeds``, each seed trains in its own process (``--jobs`` at once, default one per
core), then one line per seed and the median and range over seeds are printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from seeds import parse_seeds, run_and_report, spread  # noqa: E402

import muzero  # noqa: E402
from config import make_cartpole_config  # noqa: E402
from training.run_log import save_run_info  # noqa: E402


def main_seeds(seeds: list[int], jobs: int | None) -> None:
    """Train every seed in its own process and print the spread of the figures."""
    results, done = run_and_report(__file__, seeds, sys.argv[1:], jobs, lambda r: (
        f"{r['training_steps']} steps, {r['games_played']} games, {r['moves_played']} frames "
        f"in {r['train_seconds']:.0f} s; greedy mean {r['greedy_mean_return']:.1f} over "
        f"{r['greedy_episodes']} episodes (min {r['greedy_min_return']:.0f})"
    ))  # fmt: skip
    summary = {"benchmark": "cartpole", "seeds": seeds, "runs": results}
    if done:
        means = [r["greedy_mean_return"] for r in done]
        print(f"greedy mean over seeds: {spread(means)}")
        print(f"training seconds: {spread([r['train_seconds'] for r in done])}")
        print(f"seeds with a greedy mean >= 475: {sum(m >= 475 for m in means)} of {len(done)}")
        summary["greedy_mean_median"] = float(np.median(means))
        summary["greedy_mean_min"] = float(np.min(means))
        summary["greedy_mean_max"] = float(np.max(means))
    print(json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="several seeds, e.g. 0-4 (one process each)")
    parser.add_argument("--jobs", type=int, help="with --seeds: processes at once (default: cores)")
    parser.add_argument("--training-steps", type=int)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--results-dir", default="results/benchmark_cartpole")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    if args.seeds:
        main_seeds(parse_seeds(args.seeds), args.jobs)
        return
    overrides = muzero.parse_overrides(args.set, make_cartpole_config())
    overrides["seed"] = args.seed
    if args.training_steps is not None:
        overrides["training_steps"] = args.training_steps
    config = make_cartpole_config(**overrides)
    run_dir = muzero.make_run_dir(Path(args.results_dir) / f"seed{args.seed}")
    save_run_info(run_dir, config.to_dict(), {"game": "cartpole", "overrides": overrides})
    start = time.perf_counter()
    network = muzero.muzero(config, run_dir, progress=sys.stderr.isatty())
    train_seconds = time.perf_counter() - start
    returns = muzero.evaluate(config, network, args.episodes, seed=10_000 + args.seed)
    total_seconds = time.perf_counter() - start

    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    games_played = int(rows[-1]["games"]) if rows else 0
    figures = {
        "benchmark": "cartpole",
        "seed": args.seed,
        "training_steps": network.training_steps(),
        "games_played": games_played,
        "moves_played": int(rows[-1]["moves"]) if rows else 0,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "greedy_episodes": len(returns),
        "greedy_mean_return": float(np.mean(returns)),
        "greedy_min_return": float(np.min(returns)),
        "run_dir": str(run_dir),
    }
    print(
        f"training: {figures['training_steps']} steps, {games_played} games, "
        f"{figures['moves_played']} moves in {train_seconds:.0f} s"
    )
    print(
        f"greedy evaluation: {len(returns)} episodes, mean return {np.mean(returns):.1f}, "
        f"min {np.min(returns):.0f}, max {np.max(returns):.0f}"
    )
    print(f"wall time: {total_seconds:.0f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
