"""Self-play: games played by search with the latest network, saved to the replay buffer.

Pseudocode: `run_selfplay`, `play_game`. `play_game` is the pseudocode's one-game loop on the
reference search. `SelfPlay` keeps `num_parallel_games` games in flight and searches all of
them with one batched search per move (or, with ``config.search == "reference"``, with the
reference search one game after another); a finished game is saved and replaced at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from config import MuZeroConfig
from game import AbstractGame
from networks import Network, SharedStorage
from self_play.mcts import root_visit_counts, search_root, select_action
from self_play.seam import search_games
from self_play.search_math import visit_count_policy


def play_game(
    config: MuZeroConfig, network: Network, rng: np.random.Generator, explore: bool = True
) -> AbstractGame:
    """Play one game with the reference search. Pseudocode: `play_game`.

    With `explore` False there is no root noise and moves are greedy (temperature 0). A game
    cut short is searched once more at its final state (no noise, no move) so its value can
    be bootstrapped. This is MuZero's search only (`search_policy = "muzero"`); `SelfPlay`
    plays any policy.
    """
    if config.search_policy != "muzero":
        raise ValueError(f"play_game plays the pseudocode's MuZero search, not search_policy "
                         f"{config.search_policy!r}: use SelfPlay")  # fmt: skip
    game = config.new_game(seed=int(rng.integers(2**31)))
    while True:
        cut = game.ended() or len(game.history) >= config.max_moves
        if cut and game.terminal():
            return game
        root = search_root(config, network, game.make_image(-1), game.legal_actions(),
                           game.action_history(), rng, explore and not cut)  # fmt: skip
        counts = root_visit_counts(root, config.action_space_size)
        if cut:
            game.store_search_statistics(visit_count_policy(counts), root.value())
            return game
        action = select_action(
            config, len(game.history), root, network, rng, temperature=None if explore else 0.0
        )
        game.store_search_statistics(visit_count_policy(counts), root.value())
        game.apply(action)


@dataclass
class SelfPlayStats:
    """What one call of `SelfPlay.play` did."""

    moves: int = 0
    simulations: int = 0
    seconds: float = 0.0
    finished: list[AbstractGame] = field(default_factory=list)


class SelfPlay:
    """`num_parallel_games` games in flight, advanced one move at a time by one search.

    Pseudocode: `run_selfplay` (its actors become the parallel games of one process).

    Args:
        config: the run's config.
        rng: the source of game seeds, root noise and action sampling.
        explore: root noise and the temperature schedule (False: no noise, greedy moves).
        num_games: games in flight (default `config.num_parallel_games`).
        restart: start a new game in the place of each finished one (False: play these
            `num_games` games only; `games` empties as they finish).
    """

    #: Actors replaced after dying (the `Actor` protocol): the games here never die.
    restarts = 0

    def __init__(
        self,
        config: MuZeroConfig,
        rng: np.random.Generator,
        explore: bool = True,
        num_games: int | None = None,
        restart: bool = True,
    ):
        self.config = config
        self.rng = rng
        self.explore = explore
        self.restart = restart
        self.games = [self._new_game() for _ in range(num_games or config.num_parallel_games)]

    def _new_game(self) -> AbstractGame:
        return self.config.new_game(seed=int(self.rng.integers(2**31)))

    def play(self, network: Network, num_moves: int) -> SelfPlayStats:
        """Advance the games until `num_moves` moves were played; return finished games.

        A game ends when terminal, truncated or at `max_moves`. One cut short is searched
        once more at its final state (no move played) so its value can be bootstrapped.
        """
        stats = SelfPlayStats()
        start = time.perf_counter()
        config = self.config
        while stats.moves < num_moves and self.games:
            cut = np.array(
                [game.ended() or len(game.history) >= config.max_moves for game in self.games]
            )
            add_noise = ~cut if self.explore else np.zeros(len(self.games), dtype=bool)
            output = search_games(config, network, self.games, self.rng, add_noise,
                                  self._temperatures(network))  # fmt: skip
            stats.simulations += len(self.games) * config.num_simulations
            playing = []
            for slot, game in enumerate(self.games):
                game.store_search_statistics(output.policy[slot], float(output.root_value[slot]))
                if not cut[slot]:
                    game.apply(int(output.action[slot]))
                    stats.moves += 1
                if cut[slot] or game.terminal():
                    stats.finished.append(game)
                    if self.restart:
                        playing.append(self._new_game())
                else:
                    playing.append(game)
            self.games = playing
        stats.seconds = time.perf_counter() - start
        return stats

    def _temperatures(self, network: Network) -> np.ndarray:
        """Return each game's acting temperature. Pseudocode: the T of `select_action`."""
        if not self.explore:
            return np.zeros(len(self.games))
        steps = network.training_steps()
        return np.array([self.config.visit_softmax_temperature(len(game.history), steps)
                         for game in self.games])  # fmt: skip

    def close(self) -> None:
        """Release nothing: the games live in this process (the `Actor` protocol)."""


class Actor(Protocol):
    """What the main loop asks of self-play: the local `SelfPlay` and the Ray pool
    (`self_play.ray_actors.SelfPlayActors`) alike. Pseudocode: `run_selfplay`'s actors."""

    #: Actors replaced after dying so far.
    restarts: int

    def play(self, network: Network, num_moves: int) -> SelfPlayStats:
        """Play `num_moves` moves with `network`'s weights; return the finished games."""

    def close(self) -> None:
        """Stop whatever plays the games."""


def run_selfplay(
    storage: SharedStorage, replay_buffer, actor: Actor, num_moves: int
) -> SelfPlayStats:
    """Play `num_moves` moves with the latest network; save the finished games.

    Pseudocode: `run_selfplay` (one bounded round of it, so the main loop can alternate).
    """
    network = storage.latest_network()
    stats = actor.play(network, num_moves)
    for game in stats.finished:
        replay_buffer.save_game(game, network.training_steps())
    return stats
