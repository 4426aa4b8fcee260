"""Simulations per second of the reference search and the batched search.

    taskset -c 0 python benchmarks/mcts_throughput.py [--json] [--simulations 50]

Both searches use the same CartPole network (fully connected, numpy inference, weights
perturbed so that values and rewards are not all zero) and search CartPole start states with
root noise, as self-play does. The reference search runs B = 1 games one after another; the
batched search runs B games in lockstep. Each figure is the median of --repeats timings.
With --json the last line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from config import make_cartpole_config  # noqa: E402
from self_play import search, search_games  # noqa: E402


def make_network(config, seed: int = 0):
    network = config.new_network()
    rng = np.random.default_rng(seed)
    network.set_weights(
        [w + rng.normal(0, 0.1, w.shape).astype(np.float32) for w in network.get_weights()]
    )
    return network


def time_reference(config, network, games: int, repeat: int) -> float:
    """Return the seconds of one reference search of `games` start states, one by one."""
    rng = np.random.default_rng(repeat)
    config = dataclasses.replace(config, search="reference")
    positions = [config.new_game(seed=repeat * games + i) for i in range(games)]
    start = time.perf_counter()
    search_games(config, network, positions, rng, np.ones(games, dtype=bool))
    return time.perf_counter() - start


def time_batched(config, network, batch: int, repeat: int) -> float:
    """Return the seconds of one batched search of `batch` start states."""
    rng = np.random.default_rng(repeat)
    observations = np.stack(
        [config.new_game(seed=repeat * batch + i).make_image(-1) for i in range(batch)]
    )
    legal = np.ones((batch, config.action_space_size), dtype=bool)
    start = time.perf_counter()
    search(config, network, observations, legal, np.zeros(batch, dtype=np.int64), rng,
           np.ones(batch, dtype=bool))  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=50)
    parser.add_argument("--batches", default="1,16,64,256")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    config = make_cartpole_config(num_simulations=args.simulations)
    network = make_network(config)
    batches = [int(b) for b in args.batches.split(",")]
    reference_games = 8
    time_batched(config, network, max(batches), 0)  # warm up
    # Interleaved: each repeat times every search once, so a drift in the machine's speed
    # touches all of them alike; the figure is the median over repeats.
    timings: dict[str, list[float]] = {"reference": [], **{str(b): [] for b in batches}}
    for repeat in range(args.repeats):
        timings["reference"].append(time_reference(config, network, reference_games, repeat))
        for batch in batches:
            timings[str(batch)].append(time_batched(config, network, batch, repeat))
    sims = config.num_simulations
    reference = reference_games * sims / float(np.median(timings["reference"]))
    batched = {str(b): b * sims / float(np.median(timings[str(b)])) for b in batches}
    print(
        f"CartPole network, {args.simulations} simulations per search, "
        f"median of {args.repeats}; cpu affinity: {sorted(os.sched_getaffinity(0))}"
    )
    print(f"{'search':<22}{'sims/s':>12}{'x reference':>14}")
    print(f"{'reference (B=1)':<22}{reference:>12,.0f}{1.0:>14.1f}")
    for batch, rate in batched.items():
        print(f"{'batched B=' + batch:<22}{rate:>12,.0f}{rate / reference:>14.1f}")
    if args.json:
        print(
            json.dumps(
                {
                    "reference_sims_per_s": round(reference),
                    "batched_sims_per_s": {k: round(v) for k, v in batched.items()},
                }
            )
        )


if __name__ == "__main__":
    main()
