"""Train a MinAtar game within a time budget, then play greedy episodes.

    python benchmarks/minatar_games.py [--game MinAtar/Breakout-v1] [--seed 0] [--max-minutes 60]
        [--episodes 100] [--training-steps N] [--set FIELD=VALUE ...]
    python benchmarks/minatar_games.py --seeds 0-1 [--jobs 2] [...]
    python benchmarks/minatar_games.py --seeds 0-1 --efficientzero --max-frames 100000

Prints the training time, steps and frames, and the greedy returns (mean, min, max); the
last line is a JSON object of the figures. With ``--seeds``, each seed trains in its own
process (``--jobs`` at once, each pinned to its own core), then the spread is printed.
The config is `config.make_minatar_config`, or with ``--efficientzero``
`config.make_minatar_efficientzero_config` (EfficientZero's changes); the run stops at its
training steps, at the time budget or, with ``--max-frames F``, once self-play has played
`F` frames and taken the training steps they earned, whichever comes first. Not named
``minatar.py``: with this folder first on ``sys.path``, as it is for every script here,
that file would hide the `minatar` package.
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
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from seeds import parse_seeds, run_and_report, spread  # noqa: E402

import muzero  # noqa: E402
from config import make_minatar_config, make_minatar_efficientzero_config  # noqa: E402
from training.run_files import save_run_info  # noqa: E402


def describe(r: dict) -> str:
    return (
        f"{r['train_seconds']:.0f} s, {r['training_steps']} steps, {r['frames']} frames; "
        f"greedy mean {r['greedy_mean_return']:.2f} over {r['greedy_episodes']} episodes "
        f"(min {r['greedy_min_return']:g}, max {r['greedy_max_return']:g})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="MinAtar/Breakout-v1", help="a MinAtar gymnasium id")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="several seeds, e.g. 0-1 (one process each)")
    parser.add_argument("--jobs", type=int, help="with --seeds: processes at once (default: cores)")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="training budget")
    parser.add_argument("--max-frames", type=int, help="stop once self-play played F frames")
    parser.add_argument("--efficientzero", action="store_true",
                        help="EfficientZero's changes (its MinAtar recipe)")  # fmt: skip
    parser.add_argument("--training-steps", type=int)
    parser.add_argument("--episodes", type=int, default=100, help="greedy episodes afterwards")
    parser.add_argument("--results-dir", default="results/benchmark_minatar")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    if not args.game.startswith("MinAtar/"):
        parser.error(f"--game: {args.game!r} is not a MinAtar id such as MinAtar/Breakout-v1")
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be positive, got {args.max_frames}")
    if args.seeds:
        seeds = parse_seeds(args.seeds)
        results, done = run_and_report(__file__, seeds, sys.argv[1:], args.jobs, describe)
        summary: dict = {"benchmark": "minatar", "game": args.game,
                         "efficientzero": args.efficientzero, "max_frames": args.max_frames,
                         "seeds": seeds, "runs": results}  # fmt: skip
        if done:
            means = [r["greedy_mean_return"] for r in done]
            print(f"greedy mean over seeds: {spread(means)}")
            print(f"training seconds: {spread([r['train_seconds'] for r in done])}")
            summary.update(greedy_mean_median=float(np.median(means)),
                           greedy_mean_min=float(min(means)),
                           greedy_mean_max=float(max(means)))  # fmt: skip
        print(json.dumps(summary))
        return
    make_config = make_minatar_efficientzero_config if args.efficientzero else make_minatar_config
    defaults = make_config(args.game)
    overrides = muzero.parse_overrides(args.set, defaults)
    overrides["seed"] = args.seed
    if args.training_steps is not None:
        overrides["training_steps"] = args.training_steps
    config = make_config(args.game, **overrides)
    max_seconds = muzero.parse_max_minutes(args.max_minutes)
    try:
        muzero.check_max_frames(args.max_frames, config)
    except muzero.UsageError as error:
        parser.error(str(error))
    run_dir = muzero.make_run_dir(Path(args.results_dir) / args.game / f"seed{args.seed}")
    save_run_info(run_dir, config.to_dict(), {"game": args.game, "overrides": overrides})
    start = time.perf_counter()
    network = muzero.muzero(config, run_dir, progress=sys.stderr.isatty(), max_seconds=max_seconds,
                            max_frames=args.max_frames)  # fmt: skip
    train_seconds = time.perf_counter() - start
    returns = muzero.evaluate(config, network, args.episodes, seed=10_000 + args.seed)
    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    figures = {
        "benchmark": "minatar",
        "game": args.game,
        "efficientzero": args.efficientzero,
        "seed": args.seed,
        "training_steps": network.training_steps(),
        "frames": int(rows[-1]["moves"]) if rows else 0,
        "train_seconds": round(train_seconds, 1),
        "greedy_episodes": len(returns),
        "greedy_mean_return": float(np.mean(returns)),
        "greedy_min_return": float(np.min(returns)),
        "greedy_max_return": float(np.max(returns)),
        "run_dir": str(run_dir),
    }
    print(f"training: {figures['training_steps']} steps, {figures['frames']} frames in "
          f"{train_seconds:.0f} s ({run_dir})")  # fmt: skip
    print(f"greedy: {len(returns)} episodes, mean return {np.mean(returns):.2f}, "
          f"min {np.min(returns):g}, max {np.max(returns):g}")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
