"""Atari throughput: self-play frames/s, training steps/s and replay bytes per frame.

    taskset -c 0 python benchmarks/atari_throughput.py [--game ALE/Breakout-v5]
        [--presets small,paper] [--moves 200] [--steps 10] [--batch-size N] [--json]

For each preset of `config.make_atari_config`: self-play plays `--moves` moves (searched in
lockstep over the preset's parallel games, each cut after its share of the moves, at least
10; each move is 4 frames at action repeat 4), then
the games fill a replay buffer and `--steps` training steps are timed (sampling and the
update step, after one step to compile). The replay's bytes per stored frame come from the
buffer itself (`ReplayBuffer.nbytes`: uint8 frames plus each move's search statistics).
`--batch-size` replaces the presets' batch (the paper's 1024 is slow on a CPU).
With --json the last line is a JSON object of the figures.
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

import numpy as np  # noqa: E402

from config import ATARI_PRESETS, make_atari_config  # noqa: E402
from self_play import SelfPlay  # noqa: E402
from training import ReplayBuffer, Trainer  # noqa: E402

ACTION_REPEAT = 4


def measure(game: str, preset: str, moves: int, steps: int, batch_size: int | None) -> dict:
    overrides = {} if batch_size is None else {"batch_size": batch_size}
    parallel = ATARI_PRESETS[preset]["num_parallel_games"]
    # Games cut short once each played its share (at least 10 moves, enough to unroll 5
    # steps), so all of them reach the replay buffer.
    overrides["max_moves"] = per_game = max(moves // parallel, 10)
    moves = per_game * parallel
    config = make_atari_config(game, preset, **overrides)
    rng = np.random.default_rng(0)
    network = config.new_network()
    parameters = sum(model.count_params() for model in
                     (network.representation, network.dynamics, network.prediction))  # fmt: skip
    selfplay = SelfPlay(config, rng, num_games=config.num_parallel_games)
    selfplay.play(network, config.num_parallel_games)  # compiles inference
    start = time.perf_counter()
    stats = selfplay.play(network, moves)
    play_seconds = time.perf_counter() - start
    replay = ReplayBuffer(config)
    for finished in stats.finished:
        replay.save_game(finished)
    frames_stored = sum(len(record.observations) for record in replay.buffer)
    trainer = Trainer(config, network)
    k, td = config.num_unroll_steps, config.td_steps

    def step():
        batch = replay.sample_batch(k, td, rng, trainer.reanalyser)
        trainer.update_weights(batch)

    step()  # compiles the training step
    start = time.perf_counter()
    for _ in range(steps):
        step()
    train_seconds = (time.perf_counter() - start) / steps
    bytes_per_frame = replay.nbytes() / frames_stored
    return {
        "preset": preset,
        "parameters": int(parameters),
        "observation_shape": list(config.observation_shape),
        "simulations": config.num_simulations,
        "parallel_games": config.num_parallel_games,
        "batch_size": config.batch_size,
        "selfplay_moves_per_s": round(stats.moves / play_seconds, 2),
        "selfplay_frames_per_s": round(ACTION_REPEAT * stats.moves / play_seconds, 1),
        "train_step_s": round(train_seconds, 3),
        "train_steps_per_s": round(1 / train_seconds, 3),
        "replay_bytes_per_stored_frame": round(bytes_per_frame, 1),
        "replay_gib_per_million_frames": round(bytes_per_frame * 1e6 / ACTION_REPEAT / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="ALE/Breakout-v5")
    parser.add_argument("--presets", default="small,paper")
    parser.add_argument("--moves", type=int, default=200, help="self-play moves to time")
    parser.add_argument("--steps", type=int, default=10, help="training steps to time")
    parser.add_argument("--batch-size", type=int, help="instead of each preset's batch")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    presets = args.presets.split(",")
    for preset in presets:
        if preset not in ATARI_PRESETS:
            parser.error(f"--presets: {preset!r} is not one of {', '.join(ATARI_PRESETS)}")
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    import tensorflow as tf

    devices = [device.name for device in tf.config.list_physical_devices()]
    print(f"{args.game}; cpu affinity {affinity}; TensorFlow devices: {', '.join(devices)}")
    figures = {"game": args.game, "devices": devices, "presets": {}}
    for preset in presets:
        result = measure(args.game, preset, args.moves, args.steps, args.batch_size)
        figures["presets"][preset] = result
        print(
            f"{preset}: {result['parameters']:,} parameters, observation "
            f"{'x'.join(map(str, result['observation_shape']))}; self-play "
            f"{result['selfplay_frames_per_s']:.1f} frames/s ({result['simulations']} "
            f"simulations, {result['parallel_games']} games in lockstep); training "
            f"{result['train_step_s']:.3f} s a step (batch {result['batch_size']}); replay "
            f"{result['replay_bytes_per_stored_frame']:,.0f} bytes a stored frame, "
            f"{result['replay_gib_per_million_frames']:.2f} GiB per million frames"
        )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
