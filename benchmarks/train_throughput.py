"""Training steps per second: batch 128, K = 5 unroll steps, a game's network.

    taskset -c 0 python benchmarks/train_throughput.py [--steps 200] [--json]
    python benchmarks/train_throughput.py --game connect4 --compare-jit [--set FIELD=VALUE]
    taskset -c 0 python benchmarks/train_throughput.py --loop [--steps 1000] [--json]

Times sampling a batch from a replay buffer of self-played games and the compiled update
step, separately and together (median over blocks of steps). `--game` picks the config
(CartPole's fully connected network by default; `connect4` / `tictactoe` the residual one as
configured, XLA on or off as its config says). `--compare-jit` times the plain and the
XLA-compiled (`jit_compile`) update step in alternating blocks of the same run and prints
their ratio. `--loop` times instead the main loop's training phases as a run takes them
(`train_network` with the config's prioritized replay, priorities and target-network
bootstraps, a metrics row and its TensorBoard scalars every `log_interval` steps), in phases
of `training_steps_per_iteration` steps, median over the phases. With --json the last line
is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
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
from networks import SharedStorage  # noqa: E402
from self_play import SelfPlay  # noqa: E402
from training import ReplayBuffer, Trainer, train_network  # noqa: E402
from training.monitor import RunMonitor  # noqa: E402


def time_training_loop(config, network, replay, steps: int, rng) -> dict:
    """Return the median time of a training step in the main loop's phases (ms, steps/s)
    and how many phases of how many steps were timed."""
    trainer = Trainer(config, network)
    storage = SharedStorage(config.new_network)
    phase = config.training_steps_per_iteration
    with tempfile.TemporaryDirectory() as run_dir:
        monitor = RunMonitor(config, run_dir, progress=False, resume=False, network=network,
                             replay_buffer=replay, trainer=trainer)  # fmt: skip
        seconds = []
        for number in range(max(steps // phase, 1) + 1):  # the first phase compiles
            monitor.begin_phase(network.training_steps() + phase)
            took = train_network(config, storage, replay, trainer, phase, rng,
                                 monitor.training_step)  # fmt: skip
            monitor.end_phase(phase, took)
            if number:
                seconds.append(took / phase)
        monitor.close()
    step = float(np.median(seconds))
    return {"loop_step_ms": round(step * 1e3, 3), "loop_steps_per_s": round(1 / step, 2),
            "phase_steps": phase, "phases": len(seconds)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", choices=sorted(GAMES), default="cartpole")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--unroll-steps", type=int, default=5)
    parser.add_argument("--compare-jit", action="store_true")
    parser.add_argument("--loop", action="store_true", help="time the main loop's phases")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    overrides = muzero.parse_overrides(args.set, GAMES[args.game]())
    overrides.update(batch_size=args.batch_size, num_unroll_steps=args.unroll_steps,
                     num_simulations=8)  # fmt: skip
    config = GAMES[args.game](**overrides)
    rng = np.random.default_rng(0)
    network = config.new_network()
    replay = ReplayBuffer(config)
    stats = SelfPlay(config, rng, num_games=32).play(network, 3000)
    for game in stats.finished:
        replay.save_game(game)
    k, td = config.num_unroll_steps, config.td_steps
    if args.loop:
        figures = {"game": args.game, **time_training_loop(config, network, replay, args.steps,
                                                           rng)}  # fmt: skip
        print(
            f"{args.game}: the main loop's training phases ({figures['phases']} of "
            f"{figures['phase_steps']} steps, {len(replay)} games in the buffer; cpu affinity: "
            f"{sorted(os.sched_getaffinity(0))}): {figures['loop_step_ms']:.2f} ms a step, "
            f"{figures['loop_steps_per_s']:.1f} steps/s"
        )
        if args.json:
            print(json.dumps(figures))
        return
    variants = {"plain": False, "xla": True} if args.compare_jit else {"": config.jit_compile}
    trainers = {}

    def draw(trainer):
        return replay.sample_batch(k, td, rng, trainer.reanalyser)

    for name, jit in variants.items():
        trainers[name] = Trainer(GAMES[args.game](**{**overrides, "jit_compile": jit}), network)
        trainers[name].update_weights(draw(trainers[name]))  # compiles the step

    block = 20
    sample_times: list[float] = []
    update_times: dict[str, list[float]] = {name: [] for name in trainers}
    for _ in range(max(args.steps // block, 1)):
        for name, trainer in trainers.items():  # alternating blocks: the same machine state
            start = time.perf_counter()
            batches = [draw(trainer) for _ in range(block)]
            middle = time.perf_counter()
            for batch in batches:
                trainer.update_weights(batch)
            end = time.perf_counter()
            sample_times.append((middle - start) / block)
            update_times[name].append((end - middle) / block)
    sample = float(np.median(sample_times))
    print(
        f"{args.game}: batch {args.batch_size}, K = {k}, {len(replay)} games in the buffer; "
        f"cpu affinity: {sorted(os.sched_getaffinity(0))}"
    )
    figures: dict = {"game": args.game, "sample_ms": round(sample * 1e3, 3)}
    for name, times in update_times.items():
        update = float(np.median(times))
        label = f"update step{' (' + name + ')' if name else ''}"
        print(
            f"sample_batch: {sample * 1e3:.2f} ms   {label}: {update * 1e3:.2f} ms   "
            f"training steps/s: {1 / (sample + update):.1f}"
        )
        suffix = f"_{name}" if name else ""
        figures[f"update_ms{suffix}"] = round(update * 1e3, 3)
        figures[f"train_steps_per_s{suffix}"] = round(1 / (sample + update), 2)
    if args.compare_jit:
        ratio = figures["update_ms_plain"] / figures["update_ms_xla"]
        print(f"XLA update step: {ratio:.2f}x the plain step's speed")
        figures["xla_speedup"] = round(ratio, 2)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
