"""Train MuZero on a board game, then play greedy games in both seats against opponents.

    python benchmarks/board_game.py tictactoe [--seed 0] [--opponents minimax] [--games 100]
    python benchmarks/board_game.py connect4 [--opponents random,minimax] [--games 100]
    python benchmarks/board_game.py tictactoe --seeds 0-3 [--jobs 2] [...]

Prints the training time and, per opponent and seat, wins / draws / losses; the last line is
a JSON object of the same figures. `benchmarks/tictactoe.py` and `benchmarks/connect4.py`
run this with each game's goal. With ``--seeds``, each seed trains in its own process
(``--jobs`` at once, each pinned to its own core), then one line per seed and the spread of
the agent's losses over seeds are printed.
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

from seeds import parse_seeds, run_and_report, spread  # noqa: E402

import muzero  # noqa: E402
from config import GAMES  # noqa: E402
from game.opponents import OPPONENTS, tictactoe_best_moves  # noqa: E402
from self_play.arena import play_both_seats, play_every_line  # noqa: E402
from training.run_files import save_run_info  # noqa: E402


def run_many(game: str, seeds: list[int], jobs: int | None, argv: list[str]) -> dict:
    """Run the benchmark of `game` once per seed in child processes; print the spread."""
    script = str(Path(__file__).with_name(f"{game}.py"))

    def describe(r: dict) -> str:
        outcomes = ", ".join(
            f"{name.replace('_', ' ')} {v['wins']}/{v['draws']}/{v['losses']}"
            for name, v in r["results"].items()
        )
        lines = "".join(
            f"; every line {seat}: {v['lost_lines']} of {v['lines']} lost"
            for seat, v in r.get("every_line", {}).items()
        )
        return f"{r['training_steps']} steps in {r['train_seconds']:.0f} s; W/D/L {outcomes}{lines}"

    results, done = run_and_report(script, seeds, argv, jobs, describe)
    summary: dict = {"benchmark": game, "seeds": seeds, "runs": results}
    if done:
        for opponent in done[0]["results"]:
            losses = [r["results"][opponent]["losses"] for r in done]
            wins = [r["results"][opponent]["wins"] for r in done]
            print(f"{opponent.replace('_', ' ')}: wins {spread(wins)}, losses {spread(losses)}")
        for seat in done[0].get("every_line", {}):
            lost = [r["every_line"][seat]["lost_lines"] for r in done]
            print(f"every line vs minimax, agent {seat}: lost lines {spread(lost)}")
        print(f"training seconds: {spread([r['train_seconds'] for r in done])}")
    print(json.dumps(summary))
    return summary


def run(game: str, default_opponents: str, argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="several seeds, e.g. 0-3 (one process each)")
    parser.add_argument("--jobs", type=int, help="with --seeds: processes at once (default: cores)")
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
    if args.seeds:
        return run_many(game, parse_seeds(args.seeds), args.jobs, list(argv or sys.argv[1:]))
    overrides = muzero.parse_overrides(args.set, GAMES[game]())
    overrides["seed"] = args.seed
    if args.training_steps is not None:
        overrides["training_steps"] = args.training_steps
    config = GAMES[game](**overrides)
    max_seconds = muzero.parse_max_minutes(args.max_minutes)
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
