"""The search seam: a policy added through the registry alone searches, acts and trains."""

import numpy as np
import pytest

import muzero
from config import make_cartpole_config
from self_play import SEARCH_POLICIES, SelfPlay, register_search_policy, search
from self_play.policies import MuZeroPolicy, SearchPolicy


class PriorTargetPolicy(MuZeroPolicy):
    """MuZero's search, but the policy target is the root prior (a toy, for the seam)."""

    targets: list[np.ndarray] = []

    def act(self, roots, rng, temperature):
        actions, _ = super().act(roots, rng, temperature)
        target = roots.prior.astype(np.float32)
        PriorTargetPolicy.targets.append(target)
        return actions, target


@pytest.fixture
def prior_policy():
    PriorTargetPolicy.targets = []
    register_search_policy("prior_target", PriorTargetPolicy)
    yield PriorTargetPolicy
    del SEARCH_POLICIES["prior_target"]


def small_config(**overrides):
    settings = dict(
        training_steps=2, training_steps_per_iteration=2, min_replay_moves=1,
        selfplay_moves_per_iteration=40, num_simulations=4, num_parallel_games=4,
        batch_size=8, value_support_size=5, reward_support_size=5, hidden_layers=(8,),
        hidden_state_size=8,
    )  # fmt: skip
    settings.update(overrides)
    return make_cartpole_config(**settings)


def test_a_registered_policy_trains_two_steps(prior_policy):
    config = small_config(search_policy="prior_target")
    network = muzero.muzero(config)
    assert network.training_steps() == 2
    assert prior_policy.targets  # it searched
    # Its targets are what the games stored: the priors, not the visit counts.
    selfplay = SelfPlay(config, np.random.default_rng(0), num_games=2)
    stats = selfplay.play(network, 30)
    stored = np.array([target for game in selfplay.games + stats.finished
                       for target in game.child_visits])  # fmt: skip
    made = np.concatenate(prior_policy.targets)
    assert stored.shape[1] == 2
    assert not np.all(np.isin(stored * config.num_simulations, np.arange(5)))  # not counts
    assert {tuple(row) for row in stored} <= {tuple(row) for row in made}


def test_the_entry_runs_the_policy_the_config_names(prior_policy):
    config = small_config(search_policy="prior_target")
    network = config.new_network()
    output = search(config, network, np.zeros((3, 4), np.float32), np.ones((3, 2), bool),
                    np.zeros(3, int), np.random.default_rng(0), np.ones(3, bool))  # fmt: skip
    assert output.policy.shape == (3, 2) and output.policy.dtype == np.float32
    np.testing.assert_allclose(output.policy.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(output.policy, prior_policy.targets[-1])
    assert np.all(output.visit_counts.sum(1) == 4)


def test_an_unknown_policy_is_refused_by_the_config():
    with pytest.raises(ValueError, match="search_policy"):
        small_config(search_policy="no_such_policy")


def test_only_search_policies_can_be_registered():
    with pytest.raises(TypeError):
        register_search_policy("bad", object)
    assert issubclass(MuZeroPolicy, SearchPolicy)
