"""Evaluation: greedy MuZero (no noise, temperature 0) against fixed opponents or alone.

Many games are played at once; the agent's moves in all of them come from one batched search.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from config import MuZeroConfig
from game import AbstractGame
from game.opponents import make_opponent, opponents_of
from networks import Network
from self_play.seam import search_games


@dataclass
class MatchResult:
    """Outcomes of games in one seat: wins, draws and losses of the agent."""

    seat: int
    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


def greedy_actions(config: MuZeroConfig, network: Network, games: list[AbstractGame]):
    """Return the agent's move in each game: the search policy's greedy choice, no noise."""
    return search_games(config, network, games).action


def play_match(
    config: MuZeroConfig,
    network: Network,
    make_opponent: Callable[[], object],
    seat: int,
    episodes: int,
    seed: int,
    on_game_end: Callable[[AbstractGame], None] | None = None,
    opening_moves: int = 0,
) -> MatchResult:
    """Play `episodes` games with the agent in `seat` (0 moves first) against an opponent.

    Args:
        make_opponent: builds an object with ``choose(game) -> action``.
        on_game_end: called with each finished game (e.g. to print it).
        opening_moves: each game starts with this many uniformly random legal moves (both
            players'), so that a deterministic agent and opponent meet in many lines
            instead of replaying a few (the agent still plays player `seat`).
    """
    rng = np.random.default_rng(seed)
    opponent = make_opponent()
    result = MatchResult(seat)

    def new_game() -> AbstractGame:
        for _ in range(100):
            game = config.new_game(seed=int(rng.integers(2**31)))
            for _ in range(opening_moves):
                if game.terminal():
                    break
                game.apply(int(rng.choice(game.legal_actions())))
            if not game.terminal():
                return game
        raise ValueError(f"{opening_moves} random opening moves end nearly every game")

    started = min(episodes, config.num_parallel_games)
    games = [new_game() for _ in range(started)]
    while games:
        agent_turn = [g for g in games if g.to_play().index == seat]
        if agent_turn:
            for game, action in zip(agent_turn, greedy_actions(config, network, agent_turn)):
                game.apply(int(action))
        for game in games:
            if not game.terminal() and game.to_play().index != seat:
                game.apply(opponent.choose(game))
        still_playing = []
        for game in games:
            if not game.terminal():
                still_playing.append(game)
                continue
            outcome = game.outcome(seat)
            result.wins += outcome > 0
            result.losses += outcome < 0
            result.draws += outcome == 0
            if on_game_end is not None:
                on_game_end(game)
            if started < episodes:
                started += 1
                still_playing.append(new_game())
        games = still_playing
    return result


def play_both_seats(
    config: MuZeroConfig,
    network: Network,
    opponent: str,
    episodes: int,
    seed: int,
    opening_moves: int = 0,
) -> list[MatchResult]:
    """Play `episodes` greedy games in each seat against `opponent`; return both results.

    With `opening_moves`, each game starts with that many random moves (see `play_match`).
    """
    return [
        play_match(
            config,
            network,
            lambda seat=seat: make_opponent(
                config.game_name, opponent, np.random.default_rng(seed + seat)
            ),
            seat,
            episodes,
            seed + 10 * seat,
            opening_moves=opening_moves,
        )
        for seat in (0, 1)
    ]


def evaluate_during_training(
    config: MuZeroConfig, network: Network, step: int
) -> dict[str, tuple[int, int, int]]:
    """Return the wins, draws and losses (both seats together) against each opponent of
    `config.evaluation_opponents` the game has, at training step `step`.

    Each opponent's games draw from a generator of their own, seeded by the run's seed and
    the step: the training's generator is untouched, and a resumed run evaluates as an
    unbroken one would.
    """
    available = opponents_of(config.game_name)
    opponents = [name for name in config.evaluation_opponents if name in available]
    outcomes = {}
    for number, opponent in enumerate(opponents):
        seed = int(np.random.SeedSequence([config.seed, step, number]).generate_state(1)[0])
        results = play_both_seats(config, network, opponent, config.evaluation_games, seed)
        outcomes[opponent] = tuple(sum(getattr(result, outcome) for result in results)
                                   for outcome in ("wins", "draws", "losses"))  # fmt: skip
    return outcomes


@dataclass
class EveryLineResult:
    """The greedy agent in `seat` against every line an opponent's move sets allow.

    `lines` counts the distinct finished games, `lost` the action sequences of those the
    agent lost, and `loss_probability` the chance of a loss against an opponent that picks
    uniformly among its moves (as the perfect player picks among its best moves).
    """

    seat: int
    lines: int = 0
    loss_probability: float = 0.0
    draw_probability: float = 0.0
    lost: list[list[int]] = field(default_factory=list)


def play_every_line(
    config: MuZeroConfig,
    network: Network,
    opponent_moves: Callable[[AbstractGame], list[int]],
    seat: int,
) -> EveryLineResult:
    """Play the greedy agent in `seat` against every choice of `opponent_moves` (a branch per
    move it offers), the agent's moves in all open branches found by one batched search.

    Unlike `play_match`, nothing is sampled: against the perfect player (its best moves),
    no lost line means no game can be lost, however many are played.
    """
    result = EveryLineResult(seat)
    open_lines = [(config.new_game(seed=0), 1.0)]
    while open_lines:
        agent_turn = [line for line in open_lines if line[0].to_play().index == seat]
        branches = [line for line in open_lines if line[0].to_play().index != seat]
        if agent_turn:
            actions = greedy_actions(config, network, [game for game, _ in agent_turn])
            for (game, _), action in zip(agent_turn, actions):
                game.apply(int(action))
        moved = agent_turn
        for game, probability in branches:
            moves = opponent_moves(game)
            for move in moves:
                child = copy.deepcopy(game)
                child.apply(int(move))
                moved.append((child, probability / len(moves)))
        open_lines = []
        for game, probability in moved:
            if not game.terminal():
                open_lines.append((game, probability))
                continue
            result.lines += 1
            outcome = game.outcome(seat)
            if outcome < 0:
                result.loss_probability += probability
                result.lost.append(list(game.history))
            elif outcome == 0:
                result.draw_probability += probability
    return result
