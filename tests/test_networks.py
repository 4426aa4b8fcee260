import types

import keras
import numpy as np
import pytest

from config import make_cartpole_config
from networks import BaseNetwork, FullyConnectedNetwork, NetworkSettings, SharedStorage


def perturbed_network(seed=0, **kwargs):
    config = make_cartpole_config(value_support_size=10, reward_support_size=5, **kwargs)
    network = config.new_network()
    rng = np.random.default_rng(seed)
    # Zero-initialised heads would make every comparison trivial: perturb all weights.
    network.set_weights(
        [w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in network.get_weights()]
    )
    return network


def test_inference_shapes_and_types():
    network = perturbed_network()
    out = network.initial_inference(np.zeros((5, 4), dtype=np.float32))
    assert out.value.shape == (5,) and out.reward.shape == (5,)
    assert out.policy_logits.shape == (5, 2) and out.hidden_state.shape == (5, 32)
    assert np.all(out.reward == 0)
    # Min-max scaled hidden states span [0, 1] exactly.
    np.testing.assert_allclose(out.hidden_state.min(1), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.hidden_state.max(1), 1.0, atol=1e-6)
    nxt = network.recurrent_inference(out.hidden_state, np.array([0, 1, 0, 1, 1]))
    assert nxt.value.shape == (5,) and nxt.hidden_state.shape == (5, 32)


def test_new_network_predicts_zero_value_and_reward():
    network = make_cartpole_config().new_network()
    out = network.initial_inference(np.ones((2, 4), dtype=np.float32))
    nxt = network.recurrent_inference(out.hidden_state, np.array([0, 1]))
    np.testing.assert_allclose(out.value, 0.0, atol=1e-9)
    np.testing.assert_allclose(nxt.reward, 0.0, atol=1e-9)


@pytest.mark.parametrize("scaling", ["min_max", "tanh"])
def test_numpy_inference_equals_the_keras_models(scaling):
    network = perturbed_network(hidden_state_scaling=scaling)
    observations = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    actions = np.array([0, 1, 1, 0, 1, 0, 0])
    fast = network.initial_inference(observations)
    fast_next = network.recurrent_inference(fast.hidden_state, actions)
    network.numpy_inference = False
    slow = network.initial_inference(observations)
    slow_next = network.recurrent_inference(slow.hidden_state, actions)
    for a, b in zip(fast + fast_next, slow + slow_next):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_numpy_copy_refreshes_when_weights_change():
    network = perturbed_network()
    observations = np.ones((1, 4), dtype=np.float32)
    before = network.initial_inference(observations).policy_logits
    network.set_weights([w * 0.5 for w in network.get_weights()])
    after = network.initial_inference(observations).policy_logits
    network.numpy_inference = False
    np.testing.assert_allclose(
        after, network.initial_inference(observations).policy_logits, rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(before, after)


def test_compiled_inference_never_retraces_for_new_batch_sizes():
    network = FullyConnectedNetwork(NetworkSettings((4,), 2, 5, 5), numpy_inference=False)
    for batch in (1, 3, 64, 7, 1):
        out = network.initial_inference(np.zeros((batch, 4), dtype=np.float32))
        network.recurrent_inference(out.hidden_state, np.zeros(batch, dtype=np.int64))
    assert network.trace_count == 2  # one trace of each function, whatever the batch size


def test_set_weights_refuses_a_wrong_count():
    network = make_cartpole_config().new_network()
    with pytest.raises(ValueError, match="weight arrays"):
        network.set_weights(network.get_weights() + [np.zeros(1)])


def test_shared_storage_returns_the_latest_network():
    made = []
    storage = SharedStorage(lambda: made.append(object()) or made[-1])
    first = storage.latest_network()
    assert storage.latest_network() is first and len(made) == 1
    later = object()
    storage.save_network(10, later)
    storage.save_network(5, object())
    assert storage.latest_network() is later


def test_network_settings_are_read_off_a_config():
    config = make_cartpole_config(hidden_state_scaling="tanh", value_transform=False,
                                  value_prefix_horizon=3, value_prefix_lstm_size=7)  # fmt: skip
    settings = NetworkSettings.from_config(config)
    assert settings == NetworkSettings((4,), 2, 20, 5, "tanh", False, 3, 7, 0.997)
    # An object without the fields that have defaults gets the defaults.
    sizes = types.SimpleNamespace(observation_shape=(4,), action_space_size=2,
                                  value_support_size=20, reward_support_size=5)  # fmt: skip
    assert NetworkSettings.from_config(sizes) == NetworkSettings((4,), 2, 20, 5)
    network = config.new_network()
    assert [getattr(network, name) for name in NetworkSettings._fields] == list(settings)


class TinyNetwork(BaseNetwork):
    """A subclass without its own constructor, as README's "Swap the network" writes one."""

    def build_representation(self):
        observation = keras.Input(self.observation_shape)
        return keras.Model(observation, keras.layers.Dense(3)(observation))

    def build_dynamics(self):
        hidden, action = keras.Input((3,)), keras.Input((self.action_space_size,))
        x = keras.layers.Concatenate()([hidden, action])
        reward = keras.layers.Dense(2 * self.reward_support_size + 1)(x)
        return keras.Model([hidden, action], [keras.layers.Dense(3)(x), reward])

    def build_prediction(self):
        hidden = keras.Input((3,))
        policy = keras.layers.Dense(self.action_space_size)(hidden)
        return keras.Model(
            hidden, [policy, keras.layers.Dense(2 * self.value_support_size + 1)(hidden)]
        )


def test_base_network_takes_the_settings_by_position_or_by_name():
    by_position = TinyNetwork([4], 2, 5, 3)
    by_name = TinyNetwork(
        observation_shape=(4,), action_space_size=2, value_support_size=5, reward_support_size=3
    )
    unpacked = TinyNetwork(*NetworkSettings((4,), 2, 5, 3))
    for network in (by_position, by_name, unpacked):
        assert network.observation_shape == (4,) and network.action_space_size == 2
        assert (network.value_support_size, network.reward_support_size) == (5, 3)
        assert network.hidden_state_scaling == "min_max" and network.value_transform is True
    out = by_position.initial_inference(np.zeros((2, 4), dtype=np.float32))
    assert out.policy_logits.shape == (2, 2) and out.hidden_state.shape == (2, 3)
