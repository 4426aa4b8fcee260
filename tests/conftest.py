"""Fakes shared by the tests: a scripted game and a bandit network."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
