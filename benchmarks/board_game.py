"""Train MuZero on a board game, then play greedy games in both seats against opponents.

    python benchmarks/board_game.py tictactoe [--seed 0] [--opponents minimax] [--games 100]
    python benchmarks/board_game.py connect4 [--opponents random,minimax] [--games 100]
    python benchmarks/board_game.py tictactoe --seeds 0-3 [--jobs 2] [...]
    python benchmarks/board_game.py tictactoe --seeds 0-2 --simulations-sweep
        [--policies muzero,gumbel] [--budgets 4,8,16] [...]

Prints the training time and, per opponent and seat, wins / draws / losses; the last line is
a JSON object of the same figures. `benchmarks/tictactoe.py` and `benchmarks/connect4.py`
run this with each game's goal. With ``--seeds``, each seed trains in its own process
(``--jobs`` at once, each pinned to its own core), then one line per seed and the spread of
the agent's losses over seeds are printed. ``--simulations-sweep`` (tic-tac-toe) does that
for each search policy (``--policies``, default muzero and gumbel) at each number of
simulations (``--budgets``, default `SWEEP_BUDGETS`), each run with ``--set
search_policy=P --set num_simulations=N``, and prints a table of the lines lost against
the perfect player (every line, both seats) per policy and budget; its JSON line
(``"benchmark": "tictactoe_simulations_sweep"``) holds every run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
)

import muzero  # noqa: E402
from config import GAMES  # noqa: E402
from game.opponents import OPPONENTS, tictactoe_best_moves  # noqa: E402
from self_play.arena import play_both_seats, play_every_line  # noqa: E402
from self_play.policies import SEARCH_POLICIES  # noqa: E402
from training.run_files import save_run_info  # noqa: E402

#: The simulations per search of ``--simulations-sweep`` (tic-tac-toe).
SWEEP_BUDGETS = (4, 8, 16)


def run_many(game: str, seeds: list[int], jobs: int | None, argv: list[str]) -> dict:
    """Run the benchmark of `game` once per seed in child processes; print the spread, then
    the JSON line."""
    summary = {"benchmark": game, "seeds": seeds, "runs": report_many(game, seeds, jobs, argv)}
    print(json.dumps(summary))
    return summary


def describe(r: dict) -> str:
    """One seed's line: its training and its wins, draws and losses against each opponent."""
    outcomes = ", ".join(
        f"{name.replace('_', ' ')} {v['wins']}/{v['draws']}/{v['losses']}"
        for name, v in r["results"].items()
    )
    lines = "".join(
        f"; every line {seat}: {v['lost_lines']} of {v['lines']} lost"
        for seat, v in r.get("every_line", {}).items()
    )
    return f"{r['training_steps']} steps in {r['train_seconds']:.0f} s; W/D/L {outcomes}{lines}"


def print_spread(done: list[dict]) -> None:
    """Print the spread over the finished runs `done` of the wins and losses against each
    opponent, of the lines lost in each seat and of the training seconds."""
    if not done:
        return
    for opponent in done[0]["results"]:
        losses = [r["results"][opponent]["losses"] for r in done]
        wins = [r["results"][opponent]["wins"] for r in done]
        print(f"{opponent.replace('_', ' ')}: wins {spread(wins)}, losses {spread(losses)}")
    for seat in done[0].get("every_line", {}):
        lost = [r["every_line"][seat]["lost_lines"] for r in done]
        print(f"every line vs minimax, agent {seat}: lost lines {spread(lost)}")
    print(f"training seconds: {spread([r['train_seconds'] for r in done])}")


def report_many(game: str, seeds: list[int], jobs: int | None, argv: list[str]) -> list[dict]:
    """Run the benchmark of `game` once per seed in child processes; print a line per seed
    and the spread; return the runs' results."""
    script = str(Path(__file__).with_name(f"{game}.py"))
    results, done = run_and_report(script, seeds, argv, jobs, describe)
    print_spread(done)
    return results


def run_sweep(game: str, seeds: list[int], jobs: int | None, argv: list[str],
              cells: list[tuple[str, int]]) -> dict:  # fmt: skip
    """Run the benchmark of `game` over the seeds with each search policy at each budget
    (`cells`), every run in one pool; print each cell's lines and spread, a table of the
    lines lost against the perfect player, a row per cell, then the JSON line."""
    script = str(Path(__file__).with_name(f"{game}.py"))
    variants = {f"{policy}, {simulations} simulations":
                cell_argv(argv, policy, simulations) for policy, simulations in cells}  # fmt: skip
    reported = run_and_report_variants(script, seeds, variants, jobs, describe, print_spread)
    sweep = []
    for (policy, simulations), (runs, _) in zip(cells, reported):
        sweep.append({"search_policy": policy, "num_simulations": simulations, "runs": runs})
    sweep_table(sweep)
    summary = {"benchmark": f"{game}_simulations_sweep", "seeds": seeds, "cells": sweep}
    print(json.dumps(summary))
    return summary


def sweep_table(sweep: list[dict]) -> None:
    """Print a markdown table of a sweep's cells, a row each: over the seeds that finished,
    the median (range) of the lines lost against the perfect player (both seats, then each),
    of the lines it allowed, and of the training seconds."""
    rows = []
    for cell in sweep:
        done = [r for r in cell["runs"] if "failed" not in r and "every_line" in r]
        lost = {seat: [r["every_line"][seat]["lost_lines"] for r in done]
                for seat in ("first", "second")}  # fmt: skip
        rows.append([
            cell["search_policy"], str(cell["num_simulations"]),
            median_range([a + b for a, b in zip(lost["first"], lost["second"])]),
            median_range([sum(v["lines"] for v in r["every_line"].values()) for r in done]),
            median_range(lost["first"]), median_range(lost["second"]),
            f"{len(done)} of {len(cell['runs'])}",
            median_range([r["train_seconds"] for r in done], digits=0),
        ])  # fmt: skip
    markdown_table(["search policy", "simulations", "lost lines, both seats: median (range)",
                    "lines, both seats", "lost, agent first", "lost, agent second",
                    "seeds finished", "training seconds: median (range)"], rows)  # fmt: skip


def run(game: str, default_opponents: str, argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="several seeds, e.g. 0-3 (one process each)")
    parser.add_argument("--jobs", type=int, help="with --seeds: processes at once (default: cores)")
    parser.add_argument(
        "--simulations-sweep",
        action="store_true",
        help="with --seeds, tictactoe: each search policy at each number of simulations",
    )
    parser.add_argument("--policies", help="with --simulations-sweep: search policies "
                        f"(default: {','.join(SWEEP_POLICIES)})")  # fmt: skip
    parser.add_argument("--budgets", help="with --simulations-sweep: simulations per search "
                        f"(default: {','.join(map(str, SWEEP_BUDGETS))})")  # fmt: skip
    parser.add_argument("--training-steps", type=int)
    parser.add_argument("--max-minutes", type=float, help="stop training after M minutes")
    parser.add_argument("--games", type=int, default=100, help="games per seat and opponent")
    parser.add_argument("--opponents", default=default_opponents)
    parser.add_argument("--results-dir", default=f"results/benchmark_{game}")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.opponents.split(",")) - set(OPPONENTS))
    if unknown:
        parser.error(
            f"--opponents: no opponent {', '.join(unknown)}; valid: {', '.join(OPPONENTS)}"
        )
    if args.simulations_sweep and game != "tictactoe":
        parser.error("--simulations-sweep is for tictactoe (every line of the perfect player)")
    if args.simulations_sweep and not args.seeds:
        parser.error("--simulations-sweep needs --seeds")
    if args.simulations_sweep and "minimax" not in args.opponents.split(","):
        parser.error("--simulations-sweep plays every line of minimax: name it in --opponents")
    if (args.policies or args.budgets) and not args.simulations_sweep:
        parser.error("--policies and --budgets are options of --simulations-sweep")
    try:
        max_seconds = muzero.parse_max_minutes(args.max_minutes)
    except muzero.UsageError as error:
        parser.error(str(error))
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.simulations_sweep:
        policies = args.policies or ",".join(SWEEP_POLICIES)
        budgets = args.budgets or ",".join(map(str, SWEEP_BUDGETS))
        cells = parse_sweep(policies, budgets, SEARCH_POLICIES)
        return run_sweep(game, parse_seeds(args.seeds), args.jobs, argv, cells)
    if args.seeds:
        return run_many(game, parse_seeds(args.seeds), args.jobs, argv)
    overrides = muzero.parse_overrides(args.set, GAMES[game]())
    overrides["seed"] = args.seed
    if args.training_steps is not None:
        overrides["training_steps"] = args.training_steps
    config = GAMES[game](**overrides)
    run_dir = muzero.make_run_dir(Path(args.results_dir) / f"seed{args.seed}")
    save_run_info(run_dir, config.to_dict(), {"game": game, "overrides": overrides})
    start = time.perf_counter()
    network = muzero.muzero(config, run_dir, progress=sys.stderr.isatty(), max_seconds=max_seconds)
    train_seconds = time.perf_counter() - start
    figures: dict = {
        "benchmark": game,
        "seed": args.seed,
        "training_steps": network.training_steps(),
        "train_seconds": round(train_seconds, 1),
        "run_dir": str(run_dir),
        "results": {},
    }
    print(f"training: {network.training_steps()} steps in {train_seconds:.0f} s ({run_dir})")
    for opponent in args.opponents.split(","):
        start = time.perf_counter()
        results = play_both_seats(config, network, opponent, args.games, args.seed + 1)
        for result in results:
            seat = "first" if result.seat == 0 else "second"
            figures["results"][f"{opponent}_{seat}"] = {
                "wins": result.wins, "draws": result.draws, "losses": result.losses,
            }  # fmt: skip
            print(
                f"vs {opponent:<8} agent {seat:<6}: {result.wins:3d} wins {result.draws:3d} "
                f"draws {result.losses:3d} losses"
            )
        print(f"  ({time.perf_counter() - start:.0f} s)")
    if game == "tictactoe" and "minimax" in args.opponents.split(","):
        figures["every_line"] = every_line(config, network)
    print(json.dumps(figures))
    return figures


def every_line(config, network) -> dict:
    """Print and return the agent's lost lines against every choice of the perfect player."""
    figures = {}
    for seat, name in enumerate(("first", "second")):
        result = play_every_line(config, network, tictactoe_best_moves, seat)
        figures[name] = {
            "lines": result.lines,
            "lost_lines": len(result.lost),
            "loss_probability": round(result.loss_probability, 4),
        }
        print(
            f"every line vs minimax, agent {name:<6}: {len(result.lost)} of {result.lines} "
            f"lines lost; a game is lost with probability {result.loss_probability:.4f}"
            + "".join(f"\n  lost: {' '.join(map(str, moves))}" for moves in result.lost[:5])
        )
    return figures


if __name__ == "__main__":
    run(sys.argv[1], "random,minimax", sys.argv[2:])
