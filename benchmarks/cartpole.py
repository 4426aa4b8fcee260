"""Train MuZero on CartPole-v1, then play 100 greedy episodes (no noise, temperature 0).

    python benchmarks/cartpole.py [--seed 0] [--training-steps N] [--max-minutes M]
        [--max-frames F] [--set FIELD=VALUE ...]
    python benchmarks/cartpole.py --seeds 0-4 [--jobs 2] [...]
    python benchmarks/cartpole.py --seeds 0-4 --ablation [...]
    python benchmarks/cartpole.py --seeds 0-4 --simulations-sweep [--policies muzero,gumbel]
        [--budgets 2,4,8,16,50] [--max-minutes 5] [...]
    python benchmarks/cartpole.py --gym [...]   # through make_gym_config("CartPole-v1")

Prints the training time, frames (environment steps of self-play), the greedy returns and
the frames at which self-play first held 475: the mean return of 20 consecutive self-play
episodes (with their exploration) reached 475, gymnasium's "solved" for CartPole-v1. The
last line is a JSON object of the same figures. The run folder (CSV, PNG, weights) goes to
--results-dir. ``--max-minutes`` stops training after M minutes (then the greedy episodes
are played); ``--max-frames`` stops once self-play has played F frames, after the training
steps they earned (`muzero.muzero`'s `max_frames`). With ``--seeds``, each seed trains in
its own process (``--jobs`` at once, default one per core, each pinned to its own), then one
line per seed and the median and range over seeds are printed. ``--ablation`` does that for
the recipe with prioritized replay and Reanalyze each switched on and off (`ABLATION`) and
prints a table of the median frames to hold 475. ``--simulations-sweep`` does it for each
search policy (``--policies``, default muzero and gumbel) at each number of simulations
(``--budgets``, default `SWEEP_BUDGETS`), each run with ``--set search_policy=P --set
num_simulations=N``, and prints a table of the median greedy mean and frames to hold 475 per
policy and budget; its JSON line (``"benchmark": "cartpole_simulations_sweep"``) holds every
run.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from seeds import (  # noqa: E402
    SWEEP_POLICIES,
    cell_argv,
    markdown_table,
    median_range,
    parse_seeds,
    parse_sweep,
    run_and_report,
    run_and_report_variants,
    spread,
    strip_option,
)

import muzero  # noqa: E402
from config import (  # noqa: E402
    make_cartpole_config,
    make_cartpole_efficientzero_config,
    make_gym_config,
)
from self_play.policies import SEARCH_POLICIES  # noqa: E402
from training.run_files import save_run_info  # noqa: E402

#: The return self-play must hold (mean of `HELD_EPISODES` consecutive episodes).
SOLVED_RETURN, HELD_EPISODES = 475.0, 20
#: The variants of ``--ablation``: prioritized replay and Reanalyze, each on and off.
ABLATION = {
    "PER on, Reanalyze on": ["prioritized_replay=true", "reanalyse_fraction=0.5"],
    "PER on, Reanalyze off": ["prioritized_replay=true", "reanalyse_fraction=0"],
    "PER off, Reanalyze on": ["prioritized_replay=false", "reanalyse_fraction=0.5"],
    "PER off, Reanalyze off": ["prioritized_replay=false", "reanalyse_fraction=0"],
}
#: The variants of ``--efficientzero --ablation``: the recipe, then each change taken out.
EFFICIENTZERO_ABLATION = {
    "all of EfficientZero's changes": [],
    "replay ratio 0.1 (the default recipe's)": ["replay_ratio=0.1"],
    "replay ratio 1": ["replay_ratio=1"],
    "no consistency loss": ["consistency_loss_weight=0"],
    "no value prefix": ["value_prefix_horizon=0"],
    "no off-policy correction": ["off_policy_tau=0"],
    "none of the three (MuZero at the recipe's ratio)": [
        "consistency_loss_weight=0",
        "value_prefix_horizon=0",
        "off_policy_tau=0",
    ],
}
#: The simulations per search of ``--simulations-sweep``.
SWEEP_BUDGETS = (2, 4, 8, 16, 50)


def frames_to_hold(episodes_csv: Path, target: float = SOLVED_RETURN,
                   window: int = HELD_EPISODES) -> int | None:  # fmt: skip
    """Return the frames at which the mean return of `window` consecutive self-play episodes
    first reached `target` (the frames when the last of them was saved), or None."""
    with open(episodes_csv) as handle:
        rows = list(csv.DictReader(handle))
    returns = np.array([float(row["episode_return"]) for row in rows])
    for end in range(window, len(returns) + 1):
        if returns[end - window : end].mean() >= target:
            return int(rows[end - 1]["frames"])
    return None


def describe(r: dict) -> str:
    held = r["frames_to_475"]
    greedy = "no greedy episodes"
    if r["greedy_episodes"]:
        greedy = (f"greedy mean {r['greedy_mean_return']:.1f} over {r['greedy_episodes']} "
                  f"episodes (min {r['greedy_min_return']:.0f})")  # fmt: skip
    return (
        f"{r['train_seconds']:.0f} s, {r['training_steps']} steps, {r['moves_played']} frames; "
        f"{greedy}; held 475 at {'never' if held is None else f'{held} frames'}"
    )


def summarise(done: list[dict]) -> dict:
    """Print the spread over seeds of one recipe's runs; return it."""
    held = [r["frames_to_475"] for r in done if r["frames_to_475"] is not None]
    summary = {}
    if all(r["greedy_episodes"] for r in done):
        means = [r["greedy_mean_return"] for r in done]
        print(f"greedy mean over seeds: {spread(means)}")
        print(f"seeds with a greedy mean >= 475: {sum(m >= 475 for m in means)} of {len(done)}")
        summary = {
            "greedy_mean_median": float(np.median(means)),
            "greedy_mean_min": float(np.min(means)),
            "greedy_mean_max": float(np.max(means)),
            "seeds_at_475": int(sum(m >= 475 for m in means)),
        }
    print(f"training seconds: {spread([r['train_seconds'] for r in done])}")
    print(f"frames: {spread([r['moves_played'] for r in done])}")
    print(f"frames to hold 475 ({len(held)} of {len(done)} seeds held it): "
          f"{spread(held) if held else 'never'}")  # fmt: skip
    return {
        **summary,
        "train_seconds_max": float(np.max([r["train_seconds"] for r in done])),
        # A seed that never held 475 counts as infinitely many frames in the median.
        "frames_to_475_median": _median_or_none(
            [r["frames_to_475"] if r["frames_to_475"] is not None else np.inf for r in done]
        ),
        "seeds_held_475": len(held),
    }


def _median_or_none(values: list[float]) -> float | None:
    median = float(np.median(values))
    return median if np.isfinite(median) else None


def main_seeds(seeds: list[int], jobs: int | None) -> None:
    """Train every seed in its own process and print the spread of the figures."""
    results, done = run_and_report(__file__, seeds, sys.argv[1:], jobs, describe)
    summary = {"benchmark": "cartpole", "seeds": seeds, "runs": results}
    if done:
        summary.update(summarise(done))
    print(json.dumps(summary))


def variant_argv(argv: list[str], settings: list[str]) -> list[str]:
    """Return the options of one `--ablation` run: the parent's without ``--ablation`` and
    ``--episodes``, then ``--stop-when-held --episodes 0`` and the variant's settings."""
    kept = strip_option([item for item in argv if item != "--ablation"], "--episodes")
    return [*kept, "--stop-when-held", "--episodes", "0",
            *(item for setting in settings for item in ("--set", setting))]  # fmt: skip


def main_ablation(seeds: list[int], jobs: int | None) -> None:
    """Run every `ABLATION` variant over the seeds; print a table of frames to hold 475.

    Each run stops once self-play held 475 (``--stop-when-held``) and plays no greedy
    episodes: the frames to get there are the figure compared.
    """
    variants = {f"{name} ({', '.join(settings)})": variant_argv(sys.argv[1:], settings)
                for name, settings in ABLATION.items()}  # fmt: skip
    report_ablation(seeds, jobs, ABLATION, variants, "cartpole_ablation", greedy=False)


def main_efficientzero_ablation(seeds: list[int], jobs: int | None) -> None:
    """Run every `EFFICIENTZERO_ABLATION` variant over the seeds, each to its frame budget
    and then the greedy episodes; print a table of the greedy means and training seconds."""
    argv = [item for item in sys.argv[1:] if item != "--ablation"]
    variants = {f"{name} ({', '.join(settings) or 'as the recipe'})":
                [*argv, *(item for setting in settings for item in ("--set", setting))]
                for name, settings in EFFICIENTZERO_ABLATION.items()}  # fmt: skip
    report_ablation(seeds, jobs, EFFICIENTZERO_ABLATION, variants,
                    "cartpole_efficientzero_ablation", greedy=True)  # fmt: skip


def report_ablation(
    seeds: list[int],
    jobs: int | None,
    ablation: dict[str, list[str]],
    variants: dict[str, list[str]],
    benchmark: str,
    greedy: bool,
) -> None:
    """Run `variants` (one per entry of `ablation`: its name and settings) over the seeds;
    print their table (`results_table`, with the greedy means if `greedy`), then the JSON
    line of `benchmark`."""
    reported = run_and_report_variants(__file__, seeds, variants, jobs, describe, summarise)
    table = {}
    for (name, settings), (results, summary) in zip(ablation.items(), reported):
        table[name] = {"settings": settings, "runs": results, **(summary or {})}
    results_table(["variant"], [([name], row["runs"]) for name, row in table.items()],
                  greedy=greedy)  # fmt: skip
    print(json.dumps({"benchmark": benchmark, "seeds": seeds, "variants": table}))


def main_sweep(seeds: list[int], jobs: int | None, cells: list[tuple[str, int]]) -> None:
    """Train every seed with each search policy at each budget (`cells`); print a table of
    the greedy means and the frames to hold 475, a row per cell, then the JSON line."""
    variants = {
        f"{policy}, {simulations} simulations": cell_argv(sys.argv[1:], policy, simulations)
        for policy, simulations in cells
    }
    reported = run_and_report_variants(__file__, seeds, variants, jobs, describe, summarise)
    sweep = []
    for (policy, simulations), (results, summary) in zip(cells, reported):
        sweep.append({"search_policy": policy, "num_simulations": simulations, "runs": results,
                      **(summary or {})})  # fmt: skip
    results_table(
        ["search policy", "simulations"],
        [([cell["search_policy"], str(cell["num_simulations"])], cell["runs"]) for cell in sweep],
        greedy=True,
    )
    print(json.dumps({"benchmark": "cartpole_simulations_sweep", "seeds": seeds, "cells": sweep}))


def results_table(labels: list[str], rows: list[tuple[list[str], list[dict]]],
                  greedy: bool = False) -> None:  # fmt: skip
    """Print a markdown table of recipes, a row each: its `labels`, then over its finished
    runs (of ``rows``' pairs of labels and runs) the median (range) of the greedy means
    (with `greedy`) and of the frames to hold 475 (a seed that never held it counts as
    infinitely many frames in the median, and in no range), the seeds that held it and the
    training seconds."""
    header = [*labels, "median frames to hold 475 (range)", "seeds that held it",
              "training seconds: median (range)"]  # fmt: skip
    if greedy:
        header.insert(len(labels), "greedy mean: median (range)")
    cells = []
    for row_labels, runs in rows:
        done = [r for r in runs if "failed" not in r]
        held = [r["frames_to_475"] for r in done if r["frames_to_475"] is not None]
        never = [np.inf] * (len(done) - len(held))
        frames = _median_or_none(held + never) if done else None
        frames_text = "never" if frames is None else f"{frames:,.0f}"
        if held:
            frames_text += f" ({min(held):,}-{max(held):,})"
        row = [*row_labels, frames_text, f"{len(held)} of {len(done)}",
               median_range([r["train_seconds"] for r in done], digits=0)]  # fmt: skip
        if greedy:
            means = [r["greedy_mean_return"] for r in done if r["greedy_episodes"]]
            row.insert(len(row_labels), median_range(means, digits=1))
        cells.append(row)
    markdown_table(header, cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="several seeds, e.g. 0-4 (one process each)")
    parser.add_argument("--jobs", type=int, help="with --seeds: processes at once (default: cores)")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="with --seeds: prioritized replay and Reanalyze each on and off",
    )
    parser.add_argument(
        "--simulations-sweep",
        action="store_true",
        help="with --seeds: each search policy at each number of simulations",
    )
    parser.add_argument("--policies", help="with --simulations-sweep: search policies "
                        f"(default: {','.join(SWEEP_POLICIES)})")  # fmt: skip
    parser.add_argument("--budgets", help="with --simulations-sweep: simulations per search "
                        f"(default: {','.join(map(str, SWEEP_BUDGETS))})")  # fmt: skip
    parser.add_argument("--training-steps", type=int)
    parser.add_argument("--max-minutes", type=float, help="stop training after M minutes")
    parser.add_argument("--max-frames", type=int, help="stop once self-play played F frames")
    parser.add_argument("--stop-when-held", action="store_true",
                        help="stop training once self-play held 475 (see above)")  # fmt: skip
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--results-dir", default="results/benchmark_cartpole")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--efficientzero", action="store_true",
                        help="the config `python muzero.py --game cartpole-efficientzero` "
                        "builds; with --ablation, each of its changes taken out")  # fmt: skip
    parser.add_argument("--gym", action="store_true",
                        help="the config `python muzero.py --game CartPole-v1` builds "
                        "(make_gym_config) instead of make_cartpole_config")  # fmt: skip
    args = parser.parse_args()
    if (args.ablation or args.simulations_sweep) and not args.seeds:
        parser.error(f"{'--ablation' if args.ablation else '--simulations-sweep'} needs --seeds")
    if args.ablation and args.simulations_sweep:
        parser.error("--ablation and --simulations-sweep are two benchmarks: one at a time")
    if args.efficientzero and (args.gym or args.simulations_sweep):
        parser.error("--efficientzero is CartPole's own recipe: not with --gym or "
                     "--simulations-sweep")  # fmt: skip
    if (args.policies or args.budgets) and not args.simulations_sweep:
        parser.error("--policies and --budgets are options of --simulations-sweep")
    try:
        max_seconds = muzero.parse_max_minutes(args.max_minutes)
    except muzero.UsageError as error:
        parser.error(str(error))
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f"--max-frames must be positive, got {args.max_frames}")
    if args.simulations_sweep:
        policies = args.policies or ",".join(SWEEP_POLICIES)
        budgets = args.budgets or ",".join(map(str, SWEEP_BUDGETS))
        cells = parse_sweep(policies, budgets, SEARCH_POLICIES)
        main_sweep(parse_seeds(args.seeds), args.jobs, cells)
        return
    if args.seeds:
        run = main_seeds
        if args.ablation:
            run = main_efficientzero_ablation if args.efficientzero else main_ablation
        run(parse_seeds(args.seeds), args.jobs)
        return
    game = "CartPole-v1" if args.gym else "cartpole"
    make_config = functools.partial(make_gym_config, game) if args.gym else make_cartpole_config
    if args.efficientzero:
        game, make_config = "cartpole-efficientzero", make_cartpole_efficientzero_config
    overrides = muzero.parse_overrides(args.set, make_config())
    overrides["seed"] = args.seed
    if args.training_steps is not None:
        overrides["training_steps"] = args.training_steps
    config = make_config(**overrides)
    try:
        muzero.check_max_frames(args.max_frames, config)
    except muzero.UsageError as error:
        parser.error(str(error))
    run_dir = muzero.make_run_dir(Path(args.results_dir) / f"seed{args.seed}")
    save_run_info(run_dir, config.to_dict(), {"game": game, "overrides": overrides})
    start = time.perf_counter()
    network = muzero.muzero(config, run_dir, progress=sys.stderr.isatty(), max_seconds=max_seconds,
                            stop_return=SOLVED_RETURN if args.stop_when_held else None,
                            max_frames=args.max_frames)  # fmt: skip
    train_seconds = time.perf_counter() - start
    returns = []
    if args.episodes > 0:
        returns = muzero.evaluate(config, network, args.episodes, seed=10_000 + args.seed)
    total_seconds = time.perf_counter() - start

    with open(run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    games_played = int(rows[-1]["games"]) if rows else 0
    figures = {
        "benchmark": "cartpole",
        "game": game,
        "seed": args.seed,
        "training_steps": network.training_steps(),
        "games_played": games_played,
        "moves_played": int(rows[-1]["moves"]) if rows else 0,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "greedy_episodes": len(returns),
        "greedy_mean_return": float(np.mean(returns)) if returns else None,
        "greedy_min_return": float(np.min(returns)) if returns else None,
        "frames_to_475": frames_to_hold(run_dir / "episodes.csv"),
        "run_dir": str(run_dir),
    }
    print(
        f"training: {figures['training_steps']} steps, {games_played} games, "
        f"{figures['moves_played']} moves in {train_seconds:.0f} s"
    )
    if returns:
        print(f"greedy evaluation: {len(returns)} episodes, mean return {np.mean(returns):.1f}, "
              f"min {np.min(returns):.0f}, max {np.max(returns):.0f}")  # fmt: skip
    held = figures["frames_to_475"]
    print(f"self-play held {SOLVED_RETURN:g} over {HELD_EPISODES} episodes: "
          f"{'never' if held is None else f'at {held} frames'}")  # fmt: skip
    print(f"wall time: {total_seconds:.0f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
