"""Fakes shared by the tests: a scripted game and a bandit network."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as muzero.py: before numpy loads

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from game import AbstractGame  # noqa: E402
from networks import Network, NetworkOutput  # noqa: E402


class ScriptedGame(AbstractGame):
    """A game whose record is written by hand: fixed rewards, `terminal` as told."""

    def __init__(
        self, rewards, root_values, discount, terminal=True, num_players=1, action_space_size=2
    ):
        super().__init__(action_space_size, discount)
        self.num_players = num_players
        self._terminal = terminal
        self.history = [0] * len(rewards)
        self.rewards = list(rewards)
        self.root_values = list(root_values)
        self.child_visits = [
            np.eye(action_space_size, dtype=np.float32)[i % action_space_size]
            for i in range(len(root_values))
        ]
        self.to_plays = [i % num_players for i in range(len(root_values))]

    def step(self, action):
        return 0.0

    def terminal(self):
        return self._terminal

    def legal_actions(self):
        return list(range(self.action_space_size))

    def make_image(self, state_index):
        return np.full(2, float(state_index), dtype=np.float32)


class BanditNetwork(Network):
    """A multi-armed bandit as a model: arm `a` pays `payouts[a]`, then nothing more.

    Hidden states are ``[depth]``; values are 0 everywhere and priors uniform, so the search
    must find the best arm from the rewards alone.
    """

    def __init__(self, payouts):
        self.payouts = np.asarray(payouts, dtype=np.float64)

    def initial_inference(self, observations):
        batch = len(observations)
        return NetworkOutput(
            np.zeros(batch),
            np.zeros(batch),
            np.zeros((batch, len(self.payouts))),
            np.zeros((batch, 1)),
        )

    def recurrent_inference(self, hidden_states, actions):
        depth = np.asarray(hidden_states)[:, 0]
        reward = np.where(depth == 0, self.payouts[np.asarray(actions)], 0.0)
        batch = len(depth)
        return NetworkOutput(
            np.zeros(batch), reward, np.zeros((batch, len(self.payouts))), (depth + 1)[:, None]
        )

    def training_steps(self):
        return 0


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


class PerfectTicTacToeNetwork(Network):
    """A tic-tac-toe model that knows the rules exactly, and nothing about strategy.

    Hidden state `[11]`: nine cells (0 empty, 1 player 0, 2 player 1), the player to play
    (0 or 1) and a flag for a finished game. A winning move pays the mover 1; a move onto a
    taken cell loses (reward -1) and ends the game; after the end every move pays 0. Values
    are 0 and priors uniform, so only the search can find good moves.
    """

    def initial_inference(self, observations):
        observations = np.asarray(observations)
        batch = len(observations)
        hidden = np.zeros((batch, 11))
        for row, planes in enumerate(observations):
            to_play = 0 if planes[0, 0, 2] == 1 else 1
            mine, theirs = planes[..., 0].reshape(-1), planes[..., 1].reshape(-1)
            hidden[row, :9] = mine * (to_play + 1) + theirs * (2 - to_play)
            hidden[row, 9] = to_play
            from game.tictactoe import tictactoe_winner

            hidden[row, 10] = float(tictactoe_winner(hidden[row, :9].astype(int)) != 0)
        return NetworkOutput(np.zeros(batch), np.zeros(batch), np.zeros((batch, 9)), hidden)

    def recurrent_inference(self, hidden_states, actions):
        from game.tictactoe import tictactoe_winner

        hidden = np.array(hidden_states, dtype=np.float64)
        batch = len(hidden)
        reward = np.zeros(batch)
        for row, action in enumerate(np.asarray(actions)):
            cells, to_play, over = hidden[row, :9], int(hidden[row, 9]), hidden[row, 10]
            hidden[row, 9] = 1 - to_play
            if over:
                continue
            if cells[action] != 0:
                reward[row], hidden[row, 10] = -1.0, 1.0
                continue
            cells[action] = to_play + 1
            if tictactoe_winner(cells.astype(int)):
                reward[row], hidden[row, 10] = 1.0, 1.0
            elif not (cells == 0).any():
                hidden[row, 10] = 1.0
        return NetworkOutput(np.zeros(batch), reward, np.zeros((batch, 9)), hidden)

    def training_steps(self):
        return 0
