"""Self-play in a child process beside the trainer (``config.actor_process``).

The paper's actors play with the latest network the learner published while it trains; here
one child process does the same on a second core. The main loop hands it the current weights
and a number of moves, trains while it plays, then collects the finished games: self-play
of one iteration overlaps the training of the next, and the games were played with weights
one iteration older than in the plain alternation.

The child is started with ``spawn`` (TensorFlow cannot be forked safely); it builds its own
network from the config, so the config must pickle (factories defined at module level, not
lambdas). Its TensorFlow runs on one thread.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import traceback
from typing import Any

import numpy as np

from config import MuZeroConfig
from self_play.selfplay import SelfPlay, SelfPlayStats


class ActorError(RuntimeError):
    """The self-play process failed or could not be started; the message says why."""


def _actor_main(connection, config: MuZeroConfig, seed: int) -> None:
    """The child's loop: ``("play", weights, steps, moves)`` -> stats; ``None`` ends it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        network = config.new_network()
        selfplay = SelfPlay(config, np.random.default_rng(seed))
        connection.send(("ready", None))
        while True:
            request = connection.recv()
            if request is None:
                return
            _, weights, steps, moves = request
            network.set_weights(weights)
            network.steps = steps
            connection.send(("stats", selfplay.play(network, moves)))
    except (EOFError, KeyboardInterrupt):
        return  # the main process is gone or was interrupted: nothing left to report
    except BaseException:  # noqa: BLE001 - everything is reported to the main process
        try:
            connection.send(("error", traceback.format_exc()))
        except (OSError, EOFError):
            pass


class ActorProcess:
    """One self-play process: `request` moves with given weights, later `collect` them.

    Args:
        config: the run's config (must pickle).
        seed: seeds the child's games, root noise and move sampling.
    """

    def __init__(self, config: MuZeroConfig, seed: int):
        try:
            pickle.dumps(config)
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            raise ActorError(
                f"actor_process needs a config that pickles (module-level factories, no "
                f"lambdas): {error}"
            ) from None
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_actor_main, args=(child, config, seed), daemon=True, name="muzero-actor"
        )
        # Ctrl-C reaches every process of the terminal's group: the child ignores it (an
        # ignored signal stays ignored in the new interpreter) and the parent, which handles
        # it, ends the child in `close`. No second traceback from the child.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        child.close()
        self._pending = False
        self._receive("ready")

    def request(self, weights: list[np.ndarray], training_steps: int, moves: int) -> None:
        """Ask for `moves` moves of self-play with these weights (returns at once)."""
        if self._pending:
            raise ActorError("the self-play process is still playing the last request")
        try:
            self._connection.send(("play", weights, training_steps, moves))
        except OSError:
            code = self._process.exitcode
            raise ActorError(
                f"the self-play process ended unexpectedly (exit code {code})"
            ) from None
        self._pending = True

    def collect(self) -> SelfPlayStats:
        """Wait for the requested moves; return their stats and finished games."""
        if not self._pending:
            raise ActorError("nothing was requested from the self-play process")
        self._pending = False
        return self._receive("stats")

    def _receive(self, expected: str) -> Any:
        try:
            kind, payload = self._connection.recv()
        except (EOFError, OSError):
            code = self._process.exitcode
            raise ActorError(
                f"the self-play process ended unexpectedly (exit code {code})"
            ) from None
        if kind == "error":
            raise ActorError(f"the self-play process failed:\n{payload}")
        if kind != expected:
            raise ActorError(f"the self-play process answered {kind!r}, not {expected!r}")
        return payload

    def close(self) -> None:
        """Stop the process (a request in flight is dropped: the child is terminated)."""
        if self._pending:
            self._process.terminate()  # busy playing games nobody will collect
        else:
            try:
                self._connection.send(None)
            except (OSError, ValueError):
                pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._connection.close()
