"""Self-play actors on Ray (``config.num_actors >= 1``): the paper's actors beside a learner.

The learner is the main loop of `muzero.muzero`, in the driver. Each actor is a Ray actor
process running `SelfPlay` (the batched search over its own games) with the newest weights
it was handed. The pool:

- splits the config's `num_parallel_games` games in flight between the actors, so a run
  keeps as many games in flight, and saves each as many training steps after its start,
  whatever the number of actors: more actors can play faster, not other games;
- publishes the weights once per version (the training step they were saved at) with one
  ``ray.put``; every call carries a reference to them and an actor fetches them only when
  their version is newer than the one it holds, so it never plays with older weights than
  it already had;
- with ``actor_calls_in_flight`` 0 (the default), hands each actor one call of its share
  of an iteration's moves and waits for them all: self-play with the newest weights, then
  training, as in a run without actors, the moves played in parallel;
- with ``actor_calls_in_flight`` >= 1, keeps that many calls per actor, so the actors play
  on while the learner trains, with weights an iteration older: results wait in Ray's
  object store for the learner to take them, never more than that many (self-play cannot
  run ahead of the learner by more than those calls' moves, and the learner waits for the
  moves of its next training phase: the config's ratio of moves to training steps holds
  whichever side is faster);
- restarts an actor that died (killed, out of memory), logs it once, and counts it
  (`restarts`); an error raised inside self-play is a bug and ends the run, with the
  actor's traceback;
- started Ray itself (no ``address``): ends it in `close`, which also ends its processes.

Ray is imported only here, and only when a pool is made: runs with ``num_actors = 0``
never start it.
"""

from __future__ import annotations

import collections
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from config import MuZeroConfig
from self_play.selfplay import SelfPlay, SelfPlayStats

#: The repository's root: local actors import the project from it.
ROOT = Path(__file__).resolve().parents[1]

#: An actor that dies this many times in a row, without one call answered in between, ends
#: the run (it cannot start: a config its machine cannot build, memory too small).
MAX_RESTARTS_IN_A_ROW = 3


class ActorError(RuntimeError):
    """Self-play on Ray cannot go on; the message says why."""


def reason(error: Exception) -> str:
    """One line of a Ray error: the exception it carries (its traceback's last line)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", line)]
    return (errors[-1] if errors else lines[0] if lines else type(error).__name__)[:300]


def ray_environment() -> None:
    """Set what Ray must see before it is imported: no token file in the home folder."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def limit_threads(threads: int) -> bool:
    """Make this process's TensorFlow run `threads` threads; False if it already started
    with other numbers (they cannot change once it has run an operation)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return (tf.config.threading.get_intra_op_parallelism_threads() == threads
                and tf.config.threading.get_inter_op_parallelism_threads() == threads)  # fmt: skip
    return True


class SelfPlayWorker:
    """The actor: one `SelfPlay` with its own games, network and generator.

    Made a Ray actor class by `SelfPlayActors` (``ray.remote`` there, so that importing this
    module does not import Ray).
    """

    def __init__(self, config: MuZeroConfig, seed: int, threads: int, num_games: int):
        limit_threads(threads)  # a new process: TensorFlow has not started
        self.network = config.new_network()
        self.selfplay = SelfPlay(config, np.random.default_rng(seed), num_games=num_games)
        self.version = -1

    def pid(self) -> int:
        return os.getpid()

    def num_games(self) -> int:
        return len(self.selfplay.games)

    def node_id(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def play(self, version: int, weights: list, moves: int) -> tuple[int, SelfPlayStats]:
        """Play `moves` moves; first take the weights of `version` if newer than the ones held.

        `weights` is a list holding the reference to the published weights: inside a list,
        Ray passes the reference itself, and it is fetched only when needed.
        """
        if version > self.version:
            import ray

            self.network.set_weights(ray.get(weights[0]))
            self.network.steps = version
            self.version = version
        return self.version, self.selfplay.play(self.network, moves)


def games_per_actor(games: int, actors: int) -> list[int]:
    """Split `games` games in flight between `actors` actors, as evenly as they go."""
    return [games // actors + (index < games % actors) for index in range(actors)]


class SelfPlayActors:
    """`config.num_actors` self-play actors on Ray; `play` gathers the moves they played.

    Args:
        config: the run's config (must pickle: it travels to the actors).
        seed: seeds the actors' games (each actor, and each restart, its own stream).
        address: a running Ray cluster to join (``ray start --head`` prints it); None: start
            a local Ray with this machine's cores, ended by `close`.
    """

    def __init__(self, config: MuZeroConfig, seed: int, address: str | None = None):
        ray_environment()
        import ray

        self.config = config
        self.seed = seed
        self.restarts = 0
        self.version = -1
        self._weights: Any = None
        self._temp_dir: str | None = None
        self._started_ray = False
        self._learner_group: Any = None
        self._failures = [0] * config.num_actors
        self._in_flight: dict[Any, int] = {}
        self.versions: list[int] = []
        self.games = games_per_actor(config.num_parallel_games, config.num_actors)
        self.moves_per_call = max(1, math.ceil(config.selfplay_moves_per_iteration
                                               / config.num_actors))  # fmt: skip
        try:
            if not ray.is_initialized():
                self._start_ray(address)
            self._check_resources()
            self._keep_learner_cpus()
            self._threads = max(1, int(config.actor_cpus))
            # No task events: Ray's GCS would keep a record of every call (up to 100,000 by
            # default), a memory that grows through a long run.
            remote = ray.remote(num_cpus=config.actor_cpus, num_gpus=config.actor_gpus,
                                enable_task_events=False)  # fmt: skip
            self._actor_class = remote(SelfPlayWorker)
            self._actors = [self._new_actor(index) for index in range(config.num_actors)]
            # An actor that cannot be built fails here, in one line, not at the first call.
            for index, actor in enumerate(self._actors):
                self._get(actor.pid.remote(), f"self-play actor {index} could not start")
        except BaseException:
            self.close()
            raise

    # ----- Ray's start and end ----------------------------------------------------------

    def _start_ray(self, address: str | None) -> None:
        import logging

        import ray

        environment = {"TF_CPP_MIN_LOG_LEVEL": "2", "OPENBLAS_NUM_THREADS": "1"}
        options: dict[str, Any] = dict(
            include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
        )
        if address is None:
            # Local actors run this checkout (the same files); their logs go to a folder of
            # the system temp, removed at the end.
            paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            environment["PYTHONPATH"] = os.pathsep.join(paths)
            self._temp_dir = tempfile.mkdtemp(prefix="muzero-ray-")
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            cores = cores or os.cpu_count() or 1
            need = self._cpus_needed()
            if need > cores:
                # Asked for on one machine: the learner and the actors share its cores.
                plural = "s" * (cores > 1)
                print(f"muzero.py: note: {self._cpus_wanted()} {need:g} CPUs; this process "
                      f"may run on {cores} core{plural}: they share them",
                      file=sys.stderr)  # fmt: skip
            options.update(num_cpus=max(cores, math.ceil(need)), _temp_dir=self._temp_dir)
            options["runtime_env"] = {"env_vars": environment}
        else:
            # Another machine's actors get this checkout's code (not its results or git).
            options.update(address=address)
            options["runtime_env"] = {
                "env_vars": environment,
                "working_dir": str(ROOT),
                "excludes": ["results/", ".git/", "**/__pycache__/", "*.gif", "*.npz"],
            }
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise ActorError(f"cannot start {where}: {str(error).splitlines()[0]}") from None
        self._started_ray = True

    def _cpus_needed(self) -> float:
        return self.config.num_actors * self.config.actor_cpus + self.config.learner_cpus

    def _cpus_wanted(self) -> str:
        config = self.config
        learner = f" and the learner's learner_cpus={config.learner_cpus:g}"
        return (f"num_actors={config.num_actors} actors of actor_cpus={config.actor_cpus:g}"
                f"{learner if config.learner_cpus else ''} need")  # fmt: skip

    def _check_resources(self) -> None:
        import ray

        config = self.config
        need_cpus = self._cpus_needed()
        have = ray.cluster_resources()
        if need_cpus > have.get("CPU", 0) + 1e-9:
            raise ActorError(
                f"{self._cpus_wanted()} {need_cpus:g} CPUs; the Ray cluster has "
                f"{have.get('CPU', 0):g}"
            )
        need_gpus = config.num_actors * config.actor_gpus
        if need_gpus > have.get("GPU", 0) + 1e-9:
            raise ActorError(
                f"num_actors={config.num_actors} actors of actor_gpus={config.actor_gpus:g} "
                f"need {need_gpus:g} GPUs; the Ray cluster has {have.get('GPU', 0):g}"
            )

    def _keep_learner_cpus(self) -> None:
        """Keep `learner_cpus` CPUs of this machine's Ray node off the actors (a placement
        group of one bundle on this node, held until `close`)."""
        import ray
        from ray.util import get_node_ip_address, placement_group

        if not self.config.learner_cpus:
            return
        # On this machine (its address), on this process's node (where several share it).
        bundle = {"CPU": self.config.learner_cpus, f"node:{get_node_ip_address()}": 0.001}
        node = ray.get_runtime_context().get_node_id()
        self._learner_group = placement_group([bundle], "STRICT_PACK", _soft_target_node_id=node)
        try:
            ray.get(self._learner_group.ready(), timeout=60)
        except ray.exceptions.GetTimeoutError:
            raise ActorError(
                f"learner_cpus={self.config.learner_cpus:g}: this machine's Ray node does not "
                "have that many CPUs free (set learner_cpus lower, or 0)"
            ) from None

    def close(self) -> None:
        """End the actors (calls in flight are dropped) and the Ray this pool started."""
        import ray
        from ray.util import remove_placement_group

        if ray.is_initialized():
            for actor in getattr(self, "_actors", []):
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            self._actors = []
            if self._learner_group is not None:
                remove_placement_group(self._learner_group)
            self._in_flight = {}
            self._weights = None
            self._learner_group = None
            if self._started_ray:
                ray.shutdown()
        self._started_ray = False
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    # ----- actors -----------------------------------------------------------------------

    def _new_actor(self, index: int):
        # Each actor, and each of its restarts, plays its own stream of games.
        sequence = np.random.SeedSequence([self.seed, index, self.restarts])
        seed = int(sequence.generate_state(1)[0])
        return self._actor_class.remote(self.config, seed, self._threads, self.games[index])

    def _get(self, reference, what: str):
        import ray

        try:
            return ray.get(reference)
        except ray.exceptions.RayError as error:
            raise ActorError(f"{what}: {reason(error)}") from None

    def pids(self) -> list[int]:
        """The actors' process ids (for tests and the curious)."""
        return [self._get(actor.pid.remote(), "no process id") for actor in self._actors]

    def node_ids(self) -> list[str]:
        """The Ray node each actor runs on."""
        return [self._get(actor.node_id.remote(), "no node id") for actor in self._actors]

    def publish(self, network) -> None:
        """Make `network`'s weights the newest version, if its step is a new one."""
        import ray

        if network.steps != self.version:
            self._weights = ray.put(network.get_weights())
            self.version = network.steps

    def _submit(self, index: int) -> None:
        call = self._actors[index].play.remote(self.version, [self._weights], self.moves_per_call)
        self._in_flight[call] = index

    def _restart(self, index: int, error: Exception) -> None:
        import ray

        self._failures[index] += 1
        if self._failures[index] > MAX_RESTARTS_IN_A_ROW:
            raise ActorError(f"self-play actor {index} died {self._failures[index]} times in a "
                             f"row: {reason(error)}")  # fmt: skip
        # Its other calls died with it: drop them.
        for call in [call for call, owner in self._in_flight.items() if owner == index]:
            del self._in_flight[call]
        try:
            ray.kill(self._actors[index])
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.restarts += 1
        print(f"muzero.py: self-play actor {index} died ({reason(error)}); started a new one",
              file=sys.stderr)  # fmt: skip
        self._actors[index] = self._new_actor(index)

    def play(self, network, moves: int) -> SelfPlayStats:
        """Publish `network`'s weights; return at least `moves` moves of the actors' games.

        With ``actor_calls_in_flight`` 0, each actor plays its share with these weights and
        then waits, as self-play does in a run without actors, and the games come back in
        the actors' order, not the order they finished in: a seeded run repeats on one
        machine. Otherwise the actors go on playing (their calls in flight) while the
        caller trains. `versions` holds the weights versions of the calls taken.
        """
        import ray

        ahead = self.config.actor_calls_in_flight
        self.publish(network)
        taken: list[tuple[int, int, SelfPlayStats]] = []
        played = 0
        while played < moves:
            if ahead or not self._in_flight:
                self._top_up(max(1, ahead))
            [call], _ = ray.wait(list(self._in_flight), num_returns=1)
            index = self._in_flight.pop(call)
            try:
                version, stats = ray.get(call)
            except (ray.exceptions.RayActorError, ray.exceptions.OutOfMemoryError) as error:
                self._restart(index, error)  # died: replaced, and its share played again
                if not ahead:
                    self._submit(index)
                continue
            except ray.exceptions.RayTaskError as error:  # raised inside self-play: a bug
                raise ActorError(f"self-play actor {index} failed:\n{error}") from None
            self._failures[index] = 0
            taken.append((index, version, stats))
            played += stats.moves
        if ahead:
            self._top_up(ahead)  # the actors play on while the caller trains
        else:
            taken.sort(key=lambda call: call[0])  # stable: an actor's calls stay in order
        merged = SelfPlayStats()
        self.versions = [version for _, version, _ in taken]
        for _, _, stats in taken:
            merged.moves += stats.moves
            merged.simulations += stats.simulations
            merged.seconds += stats.seconds
            merged.finished.extend(stats.finished)
        return merged

    def _top_up(self, calls_each: int) -> None:
        """Give every actor `calls_each` calls in flight (a call answered is replaced)."""
        calls = collections.Counter(self._in_flight.values())
        for index in range(len(self._actors)):
            for _ in range(calls_each - calls[index]):
                self._submit(index)
