"""Training steps per second: batch 128, K = 5 unroll steps, the CartPole network.

    taskset -c 0 python benchmarks/train_throughput.py [--steps 200] [--json]

Times sampling a batch from a replay buffer of self-played CartPole games and the compiled
update step, separately and together (median over blocks of steps). With --json the last
line is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from config import make_cartpole_config  # noqa: E402
from self_play import SelfPlay  # noqa: E402
from training import ReplayBuffer, Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--unroll-steps", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    config = make_cartpole_config(
        batch_size=args.batch_size, num_unroll_steps=args.unroll_steps, num_simulations=8
    )
    rng = np.random.default_rng(0)
    network = config.new_network()
    replay = ReplayBuffer(config)
    stats = SelfPlay(config, rng, num_games=32).play(network, 3000)
    for game in stats.finished:
        replay.save_game(game)
    trainer = Trainer(config, network)
    k, td = config.num_unroll_steps, config.td_steps
    trainer.update_weights(replay.sample_batch(k, td, rng))  # compiles the step

    block = 20
    sample_times, update_times = [], []
    for _ in range(max(args.steps // block, 1)):
        start = time.perf_counter()
        batches = [replay.sample_batch(k, td, rng) for _ in range(block)]
        middle = time.perf_counter()
        for batch in batches:
            trainer.update_weights(batch)
        end = time.perf_counter()
        sample_times.append((middle - start) / block)
        update_times.append((end - middle) / block)
    sample, update = float(np.median(sample_times)), float(np.median(update_times))
    print(
        f"batch {args.batch_size}, K = {k}, {len(replay)} games in the buffer; "
        f"cpu affinity: {sorted(os.sched_getaffinity(0))}"
    )
    print(
        f"sample_batch: {sample * 1e3:.2f} ms   update step: {update * 1e3:.2f} ms   "
        f"training steps/s: {1 / (sample + update):.1f}"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "sample_ms": round(sample * 1e3, 3),
                    "update_ms": round(update * 1e3, 3),
                    "train_steps_per_s": round(1 / (sample + update), 2),
                }
            )
        )


if __name__ == "__main__":
    main()
