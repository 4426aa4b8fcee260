"""Main-loop speed with self-play in the main process or in an actor process beside it.

    python benchmarks/actor_throughput.py [--game connect4] [--steps 700] [--warmup 300]
        [--repeats 2] [--set FIELD=VALUE ...]

Runs the game's config for `--steps` training steps with ``actor_process`` off and on, in
alternating order `--repeats` times, and times the steps after `--warmup` (the first ones
include compiling and filling the replay buffer) from each run's metrics. Prints seconds per
training step for each mode (median over repeats) and their ratio; the last line is a JSON
object of the figures. Use both cores and an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import muzero  # noqa: E402
from config import GAMES  # noqa: E402


def seconds_per_step(run_dir: Path, warmup: int, steps: int) -> float:
    """Return the wall time per training step between steps `warmup` and `steps`."""
    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = {int(row["training_step"]): float(row["seconds"]) for row in csv.DictReader(handle)}
    return (rows[steps] - rows[warmup]) / (steps - warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="connect4", choices=sorted(GAMES))
    parser.add_argument("--steps", type=int, default=700)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    overrides = muzero.parse_overrides(args.set, GAMES[args.game]())
    overrides.pop("actor_process", None)  # each mode sets it
    overrides.update(training_steps=args.steps, log_interval=10, checkpoint_interval=args.steps)
    base = GAMES[args.game](**overrides)
    if args.warmup % base.log_interval or not 0 < args.warmup < args.steps:
        parser.error("--warmup must be a multiple of 10 below --steps")
    times: dict[str, list[float]] = {"main_process": [], "actor_process": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            order = ("main_process", "actor_process")
            for mode in order if repeat % 2 == 0 else order[::-1]:
                run_dir = Path(folder) / f"{mode}-{repeat}"
                config = GAMES[args.game](**overrides, actor_process=mode == "actor_process")
                muzero.muzero(config, run_dir)
                times[mode].append(seconds_per_step(run_dir, args.warmup, args.steps))
                print(f"{mode:<14} run {repeat + 1}: {1000 * times[mode][-1]:.1f} ms per step")
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    speedup = medians["main_process"] / medians["actor_process"]
    print(f"median ms per step: main process {1000 * medians['main_process']:.1f}, "
          f"actor process {1000 * medians['actor_process']:.1f} ({speedup:.2f}x)")  # fmt: skip
    print(json.dumps({
        "benchmark": "actor_throughput", "game": args.game, "steps": args.steps,
        "warmup": args.warmup, "ms_per_step": {m: [round(1000 * t, 1) for t in v]
                                              for m, v in times.items()},
        "speedup": round(speedup, 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
