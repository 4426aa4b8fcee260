"""What the main loop reports as it goes: the run's metrics, a progress bar, recent returns."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from training.metrics import RunLog

#: Self-play games whose mean return `RunMonitor.held_return` gives.
RECENT_GAMES = 20


def episode_return(game) -> float:
    """Return the sum of a game's rewards (for one player: its return)."""
    return float(sum(game.rewards))


class RunMonitor:
    """The run's metrics (`RunLog`, when there is a run folder), a tqdm progress bar (when
    asked) and the returns of the last `RECENT_GAMES` self-play games.

    A metrics row is written every `log_interval` training steps; the row of a training
    phase's last step waits for the phase's end (`end_phase`), so that it holds the phase's
    evaluation, which runs between phases.

    Args:
        config: the run's config.
        run_dir: the run's folder (None: no metrics are written).
        progress: show a progress bar.
        resume: append to the metrics of a resumed run.
        network, replay_buffer, trainer: what the rows describe.
    """

    def __init__(self, config: Any, run_dir: str | os.PathLike | None, progress: bool,
                 resume: bool, network: Any, replay_buffer: Any, trainer: Any):  # fmt: skip
        self.config = config
        self.network, self.replay_buffer, self.trainer = network, replay_buffer, trainer
        self.log = RunLog(run_dir, config.log_interval, append=resume) if run_dir else None
        self.restarts_before = self.log.actor_restarts if self.log is not None else 0
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=config.training_steps, initial=network.steps, unit="step",
                            dynamic_ncols=True)  # fmt: skip
        self.postfix: dict[str, Any] = {}
        self.recent_returns: list[float] = []
        self.moves = 0
        # Since the run (or its resumption) started: for the cost per frame `finish` prints.
        self.frames, self.steps = 0, 0
        self.selfplay_seconds, self.train_seconds = 0.0, 0.0
        self._phase_end: int | None = None
        self.start = time.perf_counter()

    def seconds(self) -> float:
        """Return the seconds since the run (or its resumption) started."""
        return time.perf_counter() - self.start

    def selfplay(self, stats: Any, moves: int, actor_restarts: int) -> None:
        """Note a round of self-play (`SelfPlayStats`); `moves`: all self-play moves so far."""
        self.moves = moves
        self.frames += stats.moves
        self.selfplay_seconds += stats.seconds / max(1, self.config.num_actors)
        returns = [episode_return(game) for game in stats.finished]
        self.recent_returns = (self.recent_returns + returns)[-RECENT_GAMES:]
        if self.log is not None:
            self.log.actor_restarts = self.restarts_before + actor_restarts
            # With actors, their seconds ran side by side: the pool's rate while they play.
            self.log.add_selfplay(stats.simulations, stats.seconds / max(1, self.config.num_actors))
            for game in stats.finished:
                self.log.add_episode(episode_return(game), len(game.history),
                                     float(np.mean(game.root_values)), game.returns_error(),
                                     moves, self.network.training_steps())  # fmt: skip
        if self.recent_returns:
            self.postfix.update(games=self.replay_buffer.games_saved,
                                ret=f"{np.mean(self.recent_returns):.1f}")  # fmt: skip

    def held_return(self) -> float | None:
        """Return the mean return of the last `RECENT_GAMES` games (None before that many)."""
        if len(self.recent_returns) < RECENT_GAMES:
            return None
        return float(np.mean(self.recent_returns))

    def begin_phase(self, end_step: int) -> None:
        """Note that the training phase about to run ends at `end_step`."""
        self._phase_end = end_step

    def training_step(self, step: int, losses: dict[str, float]) -> None:
        """Note one training step's losses (the training loop's callback)."""
        if self.log is not None:
            self.log.add_losses(losses)
            if step != self._phase_end and self.log.row_due(step):
                self._write_row(step)
        if self.bar is not None:
            self.bar.update(1)
            if step % 10 == 0:
                self.postfix.update(loss=f"{losses['total']:.3f}", value=f"{losses['value']:.3f}",
                                    reward=f"{losses['reward']:.3f}",
                                    policy=f"{losses['policy']:.3f}")  # fmt: skip
                self.bar.set_postfix(self.postfix, refresh=False)

    def evaluation(self, outcomes: dict[str, tuple[int, int, int]]) -> None:
        """Note an evaluation: wins, draws and losses against each opponent."""
        for opponent, (wins, draws, losses) in outcomes.items():
            if self.log is not None:
                self.log.add_evaluation(opponent, wins, draws, losses)
            self.postfix[f"vs_{opponent}"] = f"{wins}/{draws}/{losses}"

    def end_phase(self, steps: int, seconds: float) -> None:
        """Note a training phase's steps and seconds; write the row of its last step."""
        self._phase_end = None
        self.steps += steps
        self.train_seconds += seconds
        if self.log is not None:
            self.log.add_training(steps, seconds)
            step = self.network.training_steps()
            if self.log.row_due(step):
                self._write_row(step)

    def _write_row(self, step: int) -> None:
        replay = self.replay_buffer
        self.log.write_row(step, replay.games_saved, self.moves, len(replay),
                           self.trainer.learning_rate(), self.seconds(),
                           replay.nbytes() / 2**20)  # fmt: skip

    def cost_per_frame(self) -> str | None:
        """Return a line of the run's frames, training steps per frame and the seconds each
        frame cost in self-play and in training (None before the first frame)."""
        if not self.frames:
            return None
        per_frame = 1e3 / self.frames
        return (f"{self.frames} frames, {self.steps} training steps "
                f"({self.steps / self.frames:.3g} per frame); per frame: "
                f"{per_frame * self.selfplay_seconds:.3g} ms of self-play, "
                f"{per_frame * self.train_seconds:.3g} ms of training")  # fmt: skip

    def finish(self) -> None:
        """Close the progress bar; print the cost per frame; write the final weights and draw
        the learning curve."""
        self.close()
        line = self.cost_per_frame()
        if line is not None:
            print(line)
        if self.log is not None:
            self.log.save_weights(self.network.get_weights())
            game = self.config.new_game()  # what a game says of itself: its solved return
            solved_return = game.solved_return
            if hasattr(game, "close"):
                game.close()
            self.log.plot(f"MuZero on {self.config.game_name}", solved_return)

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
