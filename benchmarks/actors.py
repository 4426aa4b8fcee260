"""Self-play and training speed with 0, 1 and 2 Ray actors, and what one learner can take.

    python benchmarks/actors.py [--game cartpole] [--actors 0,1,2] [--steps 600] [--warmup 200]
        [--set FIELD=VALUE ...]

For each number of actors, runs the game's config for `--steps` training steps and times
the steps after `--warmup` (the first ones include compiling, starting Ray and filling the
replay buffer) from the run's metrics: training steps/s and self-play moves/s of the whole
loop. Then, in this process alone:

- one actor's speed: moves/s of `SelfPlay` with the config's search;
- the learner's largest consumption: training steps/s with batches always ready (sampling
  and the update step, the replay buffer full of self-play games), turned into the moves/s
  it would take at the config's ratio (`selfplay_moves_per_iteration` per
  `training_steps_per_iteration`, or its `replay_ratio`).

Their ratio is how many actors of this size (each with the config's `num_parallel_games`
games: the runs split those games between their actors, so a cluster's config raises it
with `num_actors`) keep one learner busy (both timed on this
process's threads: all cores, or one with ``taskset -c 0``). The runs keep no CPUs for
the learner (``learner_cpus`` 0 unless ``--set``): they share this process, whose TensorFlow
threads are fixed by the first. The last line is a JSON object of the figures. Use an
otherwise idle machine; the runs use every core.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import muzero  # noqa: E402
from config import GAMES  # noqa: E402
from self_play import SelfPlay  # noqa: E402
from training import ReplayBuffer, Trainer  # noqa: E402


def loop_speed(run_dir: Path, warmup: int, steps: int) -> tuple[float, float]:
    """Return training steps/s and self-play moves/s between steps `warmup` and `steps`."""
    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = {int(row["training_step"]): row for row in csv.DictReader(handle)}
    seconds = float(rows[steps]["seconds"]) - float(rows[warmup]["seconds"])
    moves = int(rows[steps]["moves"]) - int(rows[warmup]["moves"])
    return (steps - warmup) / seconds, moves / seconds


def one_actor_and_learner(config, moves: int, steps: int) -> tuple[float, float]:
    """Return one actor's moves/s and the learner's steps/s with batches always ready."""
    rng = np.random.default_rng(0)
    network = config.new_network()
    selfplay = SelfPlay(config, rng)
    selfplay.play(network, config.num_parallel_games)  # compiles the search's calls
    start = time.perf_counter()
    stats = selfplay.play(network, moves)
    actor = stats.moves / (time.perf_counter() - start)
    replay = ReplayBuffer(config)
    while replay.num_moves() < max(config.min_replay_moves, config.batch_size * 4):
        for game in selfplay.play(network, 500).finished:
            replay.save_game(game)
    trainer = Trainer(config, network)

    def step():
        batch = replay.sample_batch(config.num_unroll_steps, config.td_steps, rng,
                                    trainer.reanalyser)  # fmt: skip
        trainer.update_weights(batch)

    for _ in range(5):
        step()  # compiles the update
    start = time.perf_counter()
    for _ in range(steps):
        step()
    learner = steps / (time.perf_counter() - start)
    return actor, learner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="cartpole", choices=sorted(GAMES))
    parser.add_argument("--actors", default="0,1,2", help="numbers of actors to run")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    overrides = muzero.parse_overrides(args.set, GAMES[args.game]())
    overrides.pop("num_actors", None)  # each run sets it
    # The runs share this process, whose TensorFlow starts with the first: the learner
    # cannot be held to learner_cpus threads, so none are kept for it (its default threads).
    overrides.setdefault("learner_cpus", 0.0)
    overrides.update(training_steps=args.steps, log_interval=10, checkpoint_interval=args.steps)
    try:
        counts = [int(text) for text in args.actors.split(",")]
    except ValueError:
        parser.error(f"--actors: {args.actors!r} is not a list of numbers such as 0,1,2")
    base = GAMES[args.game](**overrides)
    if args.warmup % base.log_interval or not 0 < args.warmup < args.steps:
        parser.error("--warmup must be a multiple of 10 below --steps")
    figures: dict = {"benchmark": "actors", "game": args.game, "steps": args.steps,
                     "warmup": args.warmup, "cores": os.cpu_count(), "runs": {}}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            run_dir = Path(folder) / f"actors{count}"
            muzero.muzero(GAMES[args.game](**overrides, num_actors=count), run_dir)
            steps_per_s, moves_per_s = loop_speed(run_dir, args.warmup, args.steps)
            figures["runs"][count] = {"train_steps_per_s": round(steps_per_s, 2),
                                      "selfplay_moves_per_s": round(moves_per_s, 1)}  # fmt: skip
            ratio = ""
            if 0 in figures["runs"] and count:
                speedup = steps_per_s / figures["runs"][0]["train_steps_per_s"]
                figures["runs"][count]["speedup"] = round(speedup, 2)
                ratio = f" ({speedup:.2f}x num_actors=0)"
            print(f"num_actors={count}: {steps_per_s:.1f} training steps/s{ratio}, "
                  f"{moves_per_s:.0f} self-play moves/s")  # fmt: skip
    actor, learner = one_actor_and_learner(base, moves=2000, steps=200)
    ratio = base.selfplay_moves_per_iteration / base.training_steps_per_iteration
    if base.replay_ratio:
        ratio = 1 / base.replay_ratio
    consumption = learner * ratio
    games = base.num_parallel_games
    print(f"one actor ({games} games): {actor:.0f} moves/s; the learner alone: {learner:.1f} "
          f"steps/s = {consumption:.0f} moves/s at {ratio:g} moves per step")  # fmt: skip
    print(f"actors of {games} games one learner of this size can use: {consumption / actor:.1f}")
    figures.update(actor_moves_per_s=round(actor, 1), learner_steps_per_s=round(learner, 2),
                   moves_per_step=ratio, learner_moves_per_s=round(consumption, 1),
                   actors_per_learner=round(consumption / actor, 2))  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
