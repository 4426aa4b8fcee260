"""MuZero: learn a model, plan with it. The main loop and the command line.

Pseudocode: `muzero` (paper appendix "Pseudocode"): self-play and training alternate, here
in one process on an in-memory replay buffer and network store::

    python muzero.py --game cartpole --training-steps 5000
    python muzero.py evaluate results/cartpole/<timestamp> --episodes 20
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any


def plain_warning(message, category, filename, lineno, line=None) -> str:
    """Format a warning as one plain line (not Python's ``file:line: UserWarning`` form)."""
    return f"muzero.py: warning: {message}\n"


if __name__ == "__main__":
    # Ctrl-C while the imports below load TensorFlow (a few seconds): leave as the shell
    # expects, status 130, without a traceback. Restored to KeyboardInterrupt at the end.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    warnings.formatwarning = plain_warning  # from the imports on

# One BLAS thread (unless the environment says otherwise), set before numpy loads: the
# search's matrix products are small, and OpenBLAS threads that share a core (a run pinned
# to one core, or a busy machine) wait on each other: a batched search of 384 CartPole
# states took 2.1 s with them and 0.6 s without, on a busy 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from config import GAMES, MuZeroConfig, config_factory  # noqa: E402
from game.board_game import BoardGame, parse_move  # noqa: E402
from game.opponents import OPPONENTS, opponents_of  # noqa: E402
from networks import BaseNetwork, SharedStorage  # noqa: E402
from self_play.arena import (  # noqa: E402
    evaluate_during_training,
    greedy_actions,
    play_both_seats,
)
from self_play.ray_actors import ActorError, SelfPlayActors, limit_threads  # noqa: E402
from self_play.selfplay import Actor, SelfPlay, run_selfplay  # noqa: E402
from training import ReplayBuffer, Trainer, train_network  # noqa: E402
from training.checkpoint import (  # noqa: E402
    CheckpointError,
    list_checkpoints,
    load_latest_checkpoint,
    restore_run,
    save_run,
)
from training.monitor import RECENT_GAMES, RunMonitor, episode_return  # noqa: E402
from training.run_files import load_weights, save_run_info  # noqa: E402


class TrainingError(Exception):
    """Training cannot go on (a non-finite loss); the last checkpoint stays as it was."""


def muzero(
    config: MuZeroConfig,
    run_dir: str | os.PathLike | None = None,
    progress: bool = False,
    resume: bool = False,
    max_seconds: float | None = None,
    stop_return: float | None = None,
    ray_address: str | None = None,
    max_frames: int | None = None,
) -> BaseNetwork:
    """Train a network by alternating self-play and training; return it.

    Pseudocode: `muzero`. Each iteration plays `selfplay_moves_per_iteration` moves of
    self-play with the latest network (`SelfPlay`, or with `config.num_actors` >= 1 the Ray
    actors of `self_play.ray_actors`), then, once the buffer holds `min_replay_moves`
    moves, takes `training_steps_per_iteration` training steps (with a `replay_ratio`, the
    steps the iteration's moves earned). Between phases, a board game with a `run_dir` is
    evaluated every `evaluation_interval` steps (greedy games against
    `evaluation_opponents`, on generators of their own) and a checkpoint is written every
    `checkpoint_interval` steps; one is written at the end and on Ctrl-C too.

    Args:
        config: the run's config; `config.seed` seeds everything.
        run_dir: where to write config, metrics, TensorBoard logs, checkpoints, plot and
            weights (None: nothing is written).
        progress: show a tqdm progress bar.
        resume: continue from the newest good checkpoint in `run_dir`.
        max_seconds: stop at the end of the first iteration that finds this many seconds
            gone (not in the pseudocode); the run ends as at its last step.
        stop_return: stop likewise once the mean return of the last 20 self-play games
            reaches this (not in the pseudocode; for benchmarks of how soon a game is solved).
        ray_address: with actors, the Ray cluster to join (None: a local Ray, ended with
            the run).
        max_frames: stop once self-play has played this many moves (frames, all games
            together; not in the pseudocode), after the training phase they earned. The
            last round plays only what is left, up to `num_parallel_games - 1` more (the
            games move in lockstep; Ray actors play their own rounds' moves).

    Raises:
        CheckpointError: `resume` and no good checkpoint.
        TrainingError: a loss became non-finite.
        ActorError: Ray could not start, or a self-play actor failed (not died: restarted).
        ValueError: `max_frames` below `config.min_replay_moves` (no step would be taken).
    """
    if max_frames is not None and max_frames < config.min_replay_moves:
        raise ValueError(f"max_frames ({max_frames}) is below min_replay_moves "
                         f"({config.min_replay_moves}): the run would take no step")  # fmt: skip
    rng = start_learner(config)
    storage, replay_buffer = SharedStorage(config.new_network), ReplayBuffer(config)
    network = storage.latest_network()
    trainer = Trainer(config, network)
    moves, owed = 0, 0.0  # owed: training steps the replay ratio earned, not yet taken
    if resume:
        path, moves, owed = restore_run(run_dir, trainer, replay_buffer, rng)
        print(f"resumed from {path} at training step {network.steps}")
    monitor = RunMonitor(config, run_dir, progress, resume, network, replay_buffer, trainer)
    actor: Actor | None = None
    with Interrupt() as interrupt:
        try:
            actor = make_actor(config, rng, ray_address)
            while network.training_steps() < config.training_steps:
                interrupt.check()
                if out_of_time(monitor, max_seconds, network, config):
                    break
                if out_of_frames(moves, max_frames, network, config):
                    break
                round_moves = config.selfplay_moves_per_iteration
                if max_frames is not None:
                    round_moves = min(round_moves, max_frames - moves)
                stats = run_selfplay(storage, replay_buffer, actor, round_moves)
                moves += stats.moves
                monitor.selfplay(stats, moves, actor.restarts)
                if held(monitor, stop_return, network):
                    break
                if replay_buffer.num_moves() < max(1, config.min_replay_moves):
                    continue  # nothing to sample before the first game is saved
                steps, owed = phase_steps(config, stats.moves, owed)
                if not steps:
                    continue
                before = network.training_steps()
                seconds = train_phase(config, storage, replay_buffer, trainer, rng, monitor,
                                      interrupt, steps)  # fmt: skip
                if monitor.log is not None and crossed(before, network.steps,
                                                       config.evaluation_interval):  # fmt: skip
                    monitor.evaluation(evaluate_during_training(config, network, network.steps))
                monitor.end_phase(network.steps - before, seconds)
                if run_dir is not None and crossed(before, network.steps,
                                                   config.checkpoint_interval):  # fmt: skip
                    save_run(run_dir, config, trainer, replay_buffer, rng, moves, owed)
        except KeyboardInterrupt:
            monitor.close()
            if run_dir is not None:
                save_run(run_dir, config, trainer, replay_buffer, rng, moves, owed)
            raise
        finally:
            if actor is not None:
                actor.close()
    if run_dir is not None:
        save_run(run_dir, config, trainer, replay_buffer, rng, moves, owed)
    monitor.finish()
    return network


def start_learner(config: MuZeroConfig) -> np.random.Generator:
    """Seed the run (Keras, TensorFlow, numpy) and limit the learner's threads; return the
    run's generator, the source of every random draw of the training."""
    import keras

    learner_threads = max(1, int(config.learner_cpus))
    if config.num_actors and config.learner_cpus and not limit_threads(learner_threads):
        print("muzero.py: note: TensorFlow had started in this process before the run: its "
              "threads are not limited to learner_cpus", file=sys.stderr)  # fmt: skip
    keras.utils.set_random_seed(config.seed)
    return np.random.default_rng(config.seed)


def make_actor(config: MuZeroConfig, rng: np.random.Generator, ray_address: str | None) -> Actor:
    """Return what plays the run's self-play: `SelfPlay` here, or the Ray actors' pool."""
    if config.num_actors:
        return SelfPlayActors(config, seed=int(rng.integers(2**31)), address=ray_address)
    return SelfPlay(config, rng)


def phase_steps(config: MuZeroConfig, moves: int, owed: float) -> tuple[int, float]:
    """Return the training steps of the phase after `moves` moves of self-play, and the
    fraction of a step still owed after it (`owed`: the one owed before).

    With a `replay_ratio`, the moves earn `replay_ratio * moves` steps and the phase takes
    the whole ones; without one, `training_steps_per_iteration`. `train_phase` caps them at
    the steps the run has left.
    """
    if not config.replay_ratio:
        return config.training_steps_per_iteration, owed
    owed += config.replay_ratio * moves
    steps = int(owed + 1e-9)  # 0.29 * 100 is 28.999999999999996: a whole 29 steps
    return steps, owed - steps


def train_phase(config: MuZeroConfig, storage: SharedStorage, replay_buffer: ReplayBuffer,
                trainer: Trainer, rng: np.random.Generator, monitor: RunMonitor,
                interrupt: Interrupt, steps: int) -> float:  # fmt: skip
    """Take up to `steps` training steps, never past `training_steps` (pseudocode:
    `train_network`); return the seconds."""
    before = trainer.network.training_steps()
    steps = min(steps, config.training_steps - before)
    monitor.begin_phase(before + steps)

    def on_step(step: int, losses: dict[str, float]) -> None:
        interrupt.check()
        monitor.training_step(step, losses)

    try:
        return train_network(config, storage, replay_buffer, trainer, steps, rng, on_step)
    except FloatingPointError as error:
        raise TrainingError(f"{error}; the last checkpoint is kept") from None


def crossed(before: int, after: int, interval: int) -> bool:
    """Return whether steps ``before .. after`` passed a multiple of `interval` (0: never)."""
    return bool(interval) and after // interval > before // interval


def out_of_time(monitor: RunMonitor, max_seconds: float | None, network, config) -> bool:
    """Return (and say) whether the run's wall-clock budget is spent."""
    if max_seconds is None or monitor.seconds() < max_seconds:
        return False
    print(f"time limit: stopped after {max_seconds:g} s at training step "
          f"{network.training_steps()} of {config.training_steps}")  # fmt: skip
    return True


def out_of_frames(moves: int, max_frames: int | None, network, config) -> bool:
    """Return (and say) whether self-play has played the run's `max_frames`."""
    if max_frames is None or moves < max_frames:
        return False
    print(f"frame limit: stopped after {moves} frames at training step "
          f"{network.training_steps()} of {config.training_steps}")  # fmt: skip
    return True


def held(monitor: RunMonitor, stop_return: float | None, network) -> bool:
    """Return (and say) whether self-play held `stop_return` over the recent games."""
    mean = monitor.held_return()
    if stop_return is None or mean is None or mean < stop_return:
        return False
    print(f"self-play held a mean return of {mean:g} over {RECENT_GAMES} games: stopped at "
          f"training step {network.training_steps()}")  # fmt: skip
    return True


class Interrupt:
    """Ctrl-C taken at the next training step or iteration (`check`), not inside a
    TensorFlow call (one there can come out as a TypeError of TensorFlow's); a second
    Ctrl-C is taken at once. Only the main thread can own the signal."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_signal)
        return self

    def __exit__(self, *exception) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_signal(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise `KeyboardInterrupt` if Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt


# ----- command line ---------------------------------------------------------------------


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


def parse_value(name: str, text: str, kind: type) -> Any:
    """Convert `text` to a config field's type, or raise `UsageError` naming the field."""
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is tuple:
            return tuple(int(part) for part in text.split(",") if part.strip())
        return kind(text)
    except ValueError:
        expected = "comma-separated integers" if kind is tuple else kind.__name__
        raise UsageError(f"--set {name}={text}: expected {expected}") from None


def parse_overrides(settings: list[str], config: MuZeroConfig) -> dict[str, Any]:
    """Turn ``FIELD=VALUE`` strings into typed config overrides."""
    fields = config.settable_fields()
    unused = config.unused_fields()
    overrides: dict[str, Any] = {}
    for setting in settings:
        name, sep, text = setting.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--set {setting!r}: expected FIELD=VALUE")
        if name in unused:
            raise UsageError(f"--set {name}: does not apply ({unused[name]})")
        if name not in fields:
            raise UsageError(
                f"--set: unknown field {name!r}; valid fields: {', '.join(sorted(fields))}"
            )
        overrides[name] = parse_value(name, text, fields[name])
    return overrides


def build_config(game: str, overrides: dict[str, Any]) -> MuZeroConfig:
    """Return the config of `game` (built in, or a gymnasium id) with `overrides`, or raise
    `UsageError`."""
    try:
        factory = config_factory(game)
    except KeyError as error:
        raise UsageError(error.args[0]) from None
    try:
        return factory(**overrides)
    except (ValueError, TypeError) as error:  # TypeError: a value of the wrong kind
        raise UsageError(f"invalid config: {error}") from None


def parse_max_minutes(minutes: float | None) -> float | None:
    """Return ``--max-minutes`` in seconds, or raise `UsageError` unless it is positive."""
    if minutes is None:
        return None
    if not math.isfinite(minutes) or minutes <= 0:
        raise UsageError(f"--max-minutes {minutes:g}: expected a positive number of minutes")
    return 60.0 * minutes


USAGE_EPILOG = """commands:
  python muzero.py [options]               train (this command; options above)
  python muzero.py evaluate RUN_DIR [...]  greedy games with a trained run (evaluate --help)
  python muzero.py play RUN_DIR [...]      play a board game against a trained run (play --help)

Runs are written to RESULTS_DIR/<game>/<timestamp>/ (config, metrics.csv, TensorBoard logs,
checkpoints, learning_curve.png, weights.npz). Ctrl-C saves a checkpoint; --resume goes on."""


def train_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="muzero.py",
        description="Train MuZero (the default command), or evaluate or play a trained run.",
        epilog=USAGE_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--game",
        help=f"a built-in game ({', '.join(sorted(GAMES))}) or any registered gymnasium id "
        "with discrete actions and flat observations, e.g. MountainCar-v0 (default: cartpole)",
    )
    parser.add_argument(
        "--training-steps",
        type=int,
        metavar="N",
        help="training steps of the run (default: the game's config); with --resume, "
        "go on up to N steps",
    )
    parser.add_argument("--seed", type=int, help="seed of the run (default: the config's, 0)")
    parser.add_argument("--results-dir", default="results", help="parent folder of the runs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--max-minutes",
        type=float,
        metavar="M",
        help="stop training after about M minutes (checkpoint and weights saved as at the "
        "end; default: no limit)",
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        metavar="F",
        help="stop once self-play has played F frames, after the training steps they earned "
        "(default: no limit)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue a run from its last checkpoint, with its own config",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with num_actors >= 1: join the Ray cluster at ADDRESS (as `ray start --head` "
        "prints it) instead of starting a local Ray",
    )
    args = parser.parse_args(argv)
    max_seconds = parse_max_minutes(args.max_minutes)
    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames must be positive, got {args.max_frames}")
    if args.resume is not None:
        given = [name for name, value in (("--game", args.game), ("--set", args.set),
                 ("--seed", args.seed), ("--results-dir", args.results_dir != "results"))
                 if value]  # fmt: skip
        if given:
            raise UsageError(f"--resume continues a run in its own folder with its own config: "
                             f"no {', '.join(given)} with it (--training-steps N extends it "
                             "to N steps)")  # fmt: skip
        config = resume_config(args.resume, args.training_steps)
        check_ray_address(args.ray_address, config)
        check_max_frames(args.max_frames, config)
        return run_training(config, args.resume, not args.no_progress, True, max_seconds,
                            args.ray_address, args.max_frames)  # fmt: skip
    args.game = args.game or "cartpole"
    base = build_config(args.game, {})
    overrides = parse_overrides(args.set, base)
    if args.training_steps is not None:
        overrides["training_steps"] = args.training_steps
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = build_config(args.game, overrides)
    check_ray_address(args.ray_address, config)
    check_max_frames(args.max_frames, config)
    run_dir = make_run_dir(Path(args.results_dir) / config.game_name)
    try:
        save_run_info(run_dir, config.to_dict(), {"game": args.game, "overrides": overrides})
    except OSError as error:
        raise UsageError(f"cannot write to the run folder {run_dir}: "
                         f"{error.strerror or error}") from None  # fmt: skip
    print(f"run folder: {run_dir}")
    return run_training(config, run_dir, not args.no_progress, False, max_seconds,
                        args.ray_address, args.max_frames)  # fmt: skip


def check_ray_address(address: str | None, config: MuZeroConfig) -> None:
    """Refuse `--ray-address` for a run without actors (it would be silently unused)."""
    if address is not None and not config.num_actors:
        raise UsageError(f"--ray-address: {config.game_name} runs without Ray actors "
                         "(num_actors is 0); add --set num_actors=N")  # fmt: skip


def check_max_frames(max_frames: int | None, config: MuZeroConfig) -> None:
    """Refuse `--max-frames` below `min_replay_moves` (the run would take no step)."""
    if max_frames is not None and max_frames < config.min_replay_moves:
        raise UsageError(f"--max-frames {max_frames} is below min_replay_moves "
                         f"({config.min_replay_moves}): no training step would be "
                         "taken")  # fmt: skip


def resume_config(run_dir: Path, training_steps: int | None) -> MuZeroConfig:
    """Return the config to resume a run with, extended to `training_steps` if given.

    An extension is written to the run's `run.json` and `config.json`, so a later `--resume`
    or `evaluate` sees the new length. Raises `UsageError` when there is nothing to do.
    """
    config = load_run_config(run_dir)
    try:
        _, state = load_latest_checkpoint(run_dir)
    except CheckpointError as error:
        raise UsageError(f"cannot resume: {error}") from None
    step = int(state["training_step"])
    if training_steps is None:
        if step >= config.training_steps:
            raise UsageError(f"the run in {run_dir} is finished ({step} of "
                             f"{config.training_steps} steps); --training-steps N with "
                             "--resume extends it to N steps")  # fmt: skip
        return config
    if training_steps <= step:
        raise UsageError(f"--training-steps {training_steps}: the run in {run_dir} is already "
                         f"at step {step}; give more steps to extend it")  # fmt: skip
    try:
        config = dataclasses.replace(config, training_steps=training_steps)
    except ValueError as error:
        raise UsageError(f"invalid config: {error}") from None
    info = json.loads((run_dir / "run.json").read_text())
    info["overrides"]["training_steps"] = training_steps
    save_run_info(run_dir, config.to_dict(), info)
    return config


def run_training(
    config: MuZeroConfig,
    run_dir: Path,
    progress: bool,
    resume: bool,
    max_seconds: float | None = None,
    ray_address: str | None = None,
    max_frames: int | None = None,
) -> int:
    """Run `muzero` for the command line: report failures in one line, with an exit status."""
    try:
        muzero(config, run_dir, progress=progress, resume=resume, max_seconds=max_seconds,
               ray_address=ray_address, max_frames=max_frames)  # fmt: skip
    except CheckpointError as error:
        raise UsageError(f"cannot resume: {error}") from None
    except (TrainingError, ActorError) as error:
        print(f"muzero.py: training stopped: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if list_checkpoints(run_dir):
            print(f"\ninterrupted: checkpoint saved; continue with "
                  f"python muzero.py --resume {run_dir}", file=sys.stderr)  # fmt: skip
        else:
            print("\ninterrupted before the first checkpoint: nothing to resume",
                  file=sys.stderr)  # fmt: skip
        return 130
    print(f"wrote {run_dir / 'metrics.csv'}, {run_dir / 'learning_curve.png'}, "
          f"{run_dir / 'weights.npz'}, checkpoints in {run_dir / 'checkpoints'}")  # fmt: skip
    return 0


def make_run_dir(parent: Path) -> Path:
    """Create a new run folder ``parent/<timestamp>`` (``-2``, ``-3``, ... when taken)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 100):
        run_dir = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            return run_dir
        except FileExistsError:
            continue
        except OSError as error:
            raise UsageError(f"cannot create the run folder {run_dir}: "
                             f"{error.strerror or error}") from None  # fmt: skip
    raise UsageError(f"cannot create a new run folder under {parent}")


def read_json(path: Path, what: str) -> Any:
    """Return a JSON file's contents, or raise `UsageError` saying in words what is wrong."""
    if not path.parent.exists():
        raise UsageError(f"cannot load the run in {path.parent}: no such folder")
    if not path.parent.is_dir():
        raise UsageError(f"cannot load the run in {path.parent}: it is a file, not a folder")
    if not path.is_file():
        raise UsageError(f"cannot load the run in {path.parent}: it has no {path.name} "
                         f"({what}); is it a run folder made by muzero.py?")  # fmt: skip
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"cannot load the run in {path.parent}: cannot read "
                         f"{path.name} ({error.strerror or error})") from None  # fmt: skip
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot load the run in {path.parent}: {path.name} is not "
                         f"valid JSON ({error})") from None  # fmt: skip


def load_run_config(run_dir: Path) -> MuZeroConfig:
    """Rebuild a run's config, or raise `UsageError`.

    `run.json` names the game and the overrides; the settable values saved in `config.json`
    come first, so a run loads as it was trained even after a game's defaults change (a
    field newer than the run takes its default).
    """
    info = read_json(run_dir / "run.json", "the game and settings of the run")
    if (
        not isinstance(info, dict)
        or not isinstance(info.get("game"), str)
        or not isinstance(info.get("overrides"), dict)
    ):
        raise UsageError(f"cannot load the run in {run_dir}: run.json needs a \"game\" name "
                         "and an \"overrides\" object")  # fmt: skip
    game = info["game"]
    saved = {}
    if (run_dir / "config.json").exists():
        saved = read_json(run_dir / "config.json", "the run's config")
        if not isinstance(saved, dict):
            raise UsageError(f"cannot load the run in {run_dir}: config.json is not an object")
    if "actor_process" in saved:
        # Saved before self-play went to Ray: `num_actors` meant nothing then, and the one
        # child process of `actor_process` is one actor now.
        saved["num_actors"] = 1 if saved.pop("actor_process") is True else 0
    if "actor_process" in info["overrides"]:
        info["overrides"]["num_actors"] = 1 if info["overrides"].pop("actor_process") else 0
    fields = build_config(game, {}).settable_fields()
    saved = {key: value for key, value in saved.items() if key in fields}
    unknown = sorted(set(info["overrides"]) - set(fields))
    if unknown:
        raise UsageError(f"cannot load the run in {run_dir}: run.json sets "
                         f"{', '.join(unknown)}, which {game} does not have")  # fmt: skip
    overrides = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in {**saved, **info["overrides"]}.items()
    }
    return build_config(game, overrides)


def load_run(run_dir: Path) -> tuple[MuZeroConfig, BaseNetwork]:
    """Rebuild a run's config and network: the newest good checkpoint, else `weights.npz`."""
    config = load_run_config(run_dir)
    network = config.new_network()
    try:
        _, state = load_latest_checkpoint(run_dir)
        weights, source = state["weights"], "its checkpoint"
    except CheckpointError:
        try:
            weights, source = load_weights(run_dir / "weights.npz"), "weights.npz"
        except FileNotFoundError:
            raise UsageError(f"cannot load the run in {run_dir}: it has no good checkpoint "
                             "and no weights.npz") from None  # fmt: skip
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot load the run in {run_dir}: no good checkpoint, and "
                             f"weights.npz cannot be used ({error})") from None  # fmt: skip
    try:
        network.set_weights(weights)
    except (ValueError, KeyError, IndexError) as error:
        raise UsageError(f"cannot load the run in {run_dir}: the weights of {source} do not "
                         f"fit the network of its config ({error})") from None  # fmt: skip
    return config, network


def evaluate_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="muzero.py evaluate",
        description="Play greedy games (no noise, temperature 0) with a trained run, searching "
        "as it did (its config's search_policy and num_simulations).",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, help="a run folder, results/<game>/<timestamp>")
    parser.add_argument("--episodes", type=int, default=10, help="episodes (per seat)")
    parser.add_argument(
        "--opponent",
        choices=OPPONENTS,
        help="the opponent in two-player games (default: random)",
    )
    parser.add_argument("--seed", type=int, default=12345, help="seed of the games")
    parser.add_argument(
        "--simulations", type=int, help="simulations per search (default: the run's config)"
    )
    parser.add_argument(
        "--random-opening",
        type=int,
        default=0,
        metavar="N",
        help="two-player games start with N random moves (many lines, not a few repeated)",
    )
    parser.add_argument(
        "--render", action="store_true", help="also write an animated GIF of one episode"
    )
    args = parser.parse_args(argv)
    if args.episodes < 1:
        raise UsageError(f"--episodes must be positive, got {args.episodes}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.simulations is not None and args.simulations < 1:
        raise UsageError(f"--simulations must be positive, got {args.simulations}")
    if args.random_opening < 0:
        raise UsageError(f"--random-opening must be 0 or more, got {args.random_opening}")
    config, network = load_run(args.run_dir)
    if args.random_opening >= config.max_moves:
        raise UsageError(f"--random-opening must be less than a game's {config.max_moves} "
                         f"moves, got {args.random_opening}")  # fmt: skip
    if args.simulations is not None:
        config = dataclasses.replace(config, num_simulations=args.simulations)
    if args.render:
        path = render_episode(config, network, args.run_dir / "episode.gif", args.seed)
        print(f"wrote {path}")
    if config.num_players == 1:
        if args.random_opening:
            raise UsageError(f"--random-opening is for two-player games, not {config.game_name}")
        if args.opponent is not None:
            raise UsageError(f"--opponent is for two-player games, not {config.game_name}")
        returns = evaluate(config, network, args.episodes, args.seed)
        print(
            f"{len(returns)} greedy episodes: mean return {np.mean(returns):.1f}, "
            f"min {np.min(returns):.1f}, max {np.max(returns):.1f}"
        )
        return 0
    opponent = args.opponent or "random"
    if opponent not in opponents_of(config.game_name):
        raise UsageError(f"no opponent {opponent!r} for {config.game_name!r}; valid: "
                         f"{', '.join(opponents_of(config.game_name))}")  # fmt: skip
    try:
        results = play_both_seats(
            config, network, opponent, args.episodes, args.seed, args.random_opening
        )
    except ValueError as error:  # openings that end nearly every game
        if not args.random_opening:
            raise
        raise UsageError(f"--random-opening {args.random_opening}: {error}") from None
    opening = f" after {args.random_opening} random moves" if args.random_opening else ""
    for result in results:
        print(
            f"agent {'first' if result.seat == 0 else 'second'} vs {opponent}{opening}: "
            f"{result.wins} wins, {result.draws} draws, {result.losses} losses "
            f"({result.games} games)"
        )
    return 0


def render_episode(config: MuZeroConfig, network: BaseNetwork, path: Path, seed: int) -> Path:
    """Play one greedy episode and write its frames to an animated GIF at `path`."""
    from PIL import Image

    try:
        game = config.game_factory(discount=config.discount, seed=seed, render_mode="rgb_array")
    except TypeError:
        raise UsageError(f"--render: {config.game_name} cannot draw itself") from None
    frames = [game.render_rgb()]
    while not game.ended() and len(game.history) < config.max_moves:
        game.apply(int(greedy_actions(config, network, [game])[0]))
        frames.append(game.render_rgb())
    images = [Image.fromarray(frame) for frame in frames if frame is not None]
    if not images:
        raise UsageError(f"--render: {config.game_name} returned no frames")
    images[0].save(path, save_all=True, append_images=images[1:], duration=20, loop=0)
    return path


def evaluate(config: MuZeroConfig, network: BaseNetwork, episodes: int, seed: int) -> list[float]:
    """Play `episodes` greedy episodes (no noise, temperature 0); return their returns.

    Up to 256 episodes are played at once, searched together, each to its end: the returns
    are those of the episodes started, not of the first ones to finish (which would favour
    short episodes).
    """
    rng = np.random.default_rng(seed)
    returns: list[float] = []
    while len(returns) < episodes:
        selfplay = SelfPlay(config, rng, explore=False, restart=False,
                            num_games=min(episodes - len(returns), 256))  # fmt: skip
        while selfplay.games:
            stats = selfplay.play(network, 1)
            returns.extend(episode_return(game) for game in stats.finished)
    return returns


def play_command(argv: list[str], read=input) -> int:
    parser = argparse.ArgumentParser(
        prog="muzero.py play",
        description="Play a two-player game against a trained run (searching as it did: its "
        "config's search_policy and num_simulations).",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, help="a run folder, results/<game>/<timestamp>")
    parser.add_argument(
        "--second", action="store_true", help="let MuZero move first (you play second)"
    )
    parser.add_argument(
        "--simulations", type=int, help="simulations per search (default: the run's config)"
    )
    args = parser.parse_args(argv)
    if args.simulations is not None and args.simulations < 1:
        raise UsageError(f"--simulations must be positive, got {args.simulations}")
    config, network = load_run(args.run_dir)
    if args.simulations is not None:
        config = dataclasses.replace(config, num_simulations=args.simulations)
    game = config.new_game()
    if not isinstance(game, BoardGame):
        raise UsageError(f"play needs a two-player board game; {config.game_name} is not one")
    human = 1 if args.second else 0
    print(f"You are {'O' if human else 'X'}. Type a move number; Ctrl-C or Ctrl-D quits.")
    while not game.terminal():
        print(game.render(), end="\n\n")
        if game.to_play().index == human:
            move = ask_move(game, read)
            if move is None:
                print("\ngame abandoned")
                return 0
        else:
            move = int(greedy_actions(config, network, [game])[0])
            print(f"MuZero plays {move}")
        game.apply(move)
    print(game.render())
    outcome = game.outcome(human)
    print({1.0: "You win.", 0.0: "Draw.", -1.0: "MuZero wins."}[outcome])
    return 0


def ask_move(game: BoardGame, read=input) -> int | None:
    """Ask until a legal move is typed; None at the end of input (Ctrl-D).

    Ctrl-C is not caught here: it ends the program with status 130, like any command.
    """
    while True:
        try:
            text = read("your move: ")
        except EOFError:
            return None
        try:
            return parse_move(text, game.legal_actions(), game.action_space_size)
        except ValueError as error:
            print(error)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """`--help` shows every default and keeps the epilog's lines as written.

    An option whose default is None or False says its default in its own words (or has
    none: a flag is off unless given).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        quiet = default is None or default is False or default == [] or default is argparse.SUPPRESS
        if not quiet and "default" not in text:
            text += " (default: %(default)s)"
        return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] == "evaluate":
            return evaluate_command(argv[1:])
        if argv and argv[0] == "play":
            return play_command(argv[1:])
        return train_command(argv)
    except UsageError as error:
        print(f"muzero.py: error: {error}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # between main's own handlers: still no traceback
        print("interrupted", file=sys.stderr)
        sys.exit(130)
