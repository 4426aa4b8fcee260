"""EfficientZero's value prefix: its targets by hand, the search's rewards from it, training."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import muzero
from config import make_cartpole_config, make_tictactoe_config
from networks.transforms import logits_to_scalar
from networks.value_prefix import rewards_from_prefixes, value_prefixes
from self_play import search_games
from training import ReplayBuffer, compute_losses
from training.checkpoint import load_latest_checkpoint

REWARDS = np.array([[0.0, 1, 2, 3, 4, 5, 6, 7]])  # the moves into steps 1 .. 7


@pytest.mark.parametrize(
    "horizon,discount,expected",
    [
        # Reset after step 5: step 6 starts again from its own reward (EfficientZero's
        # worked case).
        (5, 1.0, [0, 1, 3, 6, 10, 15, 6, 13]),
        # 1, 1 + .5 * 2, 2 + .25 * 3, 2.75 + .125 * 4, 3.25 + .0625 * 5; then 6, 6 + .5 * 7.
        (5, 0.5, [0, 1, 2, 2.75, 3.25, 3.5625, 6, 9.5]),
        (10, 1.0, [0, 1, 3, 6, 10, 15, 21, 28]),  # no reset within 7 steps
        (1, 0.5, [0, 1, 2, 3, 4, 5, 6, 7]),  # a reset every step: the rewards themselves
    ],
)
def test_value_prefix_targets_by_hand(horizon, discount, expected):
    prefixes = value_prefixes(REWARDS, horizon, discount)
    np.testing.assert_allclose(prefixes[0], expected)
    np.testing.assert_allclose(rewards_from_prefixes(prefixes, horizon, discount), REWARDS)


def prefix_network(horizon=2, seed=0):
    config = make_cartpole_config(
        value_support_size=10, reward_support_size=5, value_prefix_horizon=horizon,
        value_prefix_lstm_size=6,
    )  # fmt: skip
    network = config.new_network()
    rng = np.random.default_rng(seed)
    network.set_weights(
        [w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in network.get_weights()]
    )
    return config, network


def test_the_searchs_rewards_are_the_differences_of_the_prefixes():
    config, network = prefix_network(horizon=2)
    observations = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    out = network.initial_inference(observations)
    hidden = network.represent(observations).numpy()
    assert out.hidden_state.shape == (3, 32 + 2 * 6 + 2)
    state = out.hidden_state
    lstm = [tf.zeros((3, 6)), tf.zeros((3, 6))]
    previous = np.zeros(3)
    for depth in range(1, 6):
        actions = np.array([0, 1, depth % 2], np.int32)
        out = network.recurrent_inference(state, actions)
        # The same step by hand: the dynamics, then the LSTM from the state it carries.
        hidden, _ = network.dynamics_step(tf.constant(hidden), tf.constant(actions))
        logits, lstm = network.value_prefix_step(hidden, lstm)
        prefix = logits_to_scalar(logits.numpy(), 5)
        into_segment = (depth - 1) % 2
        expected = (prefix - (previous if into_segment else 0.0)) / config.discount**into_segment
        np.testing.assert_allclose(out.reward, expected, rtol=1e-4, atol=1e-5)
        unpacked, state_h, _, stored, steps = network.unpack_state(out.hidden_state)
        np.testing.assert_allclose(unpacked, hidden.numpy(), atol=1e-6)
        if depth % 2 == 0:  # the segment ends: the child starts a new one
            lstm = [tf.zeros((3, 6)), tf.zeros((3, 6))]
            assert np.all(steps == 0) and np.all(stored == 0) and np.all(state_h == 0)
        else:
            assert np.all(steps == 1)
            np.testing.assert_allclose(stored, prefix, rtol=1e-5, atol=1e-6)
        previous, state, hidden = prefix, out.hidden_state, hidden.numpy()


def test_the_numpy_value_prefix_step_is_the_keras_lstms():
    from networks.network import BaseNetwork

    _, network = prefix_network(horizon=3, seed=2)
    rng = np.random.default_rng(3)
    hidden = rng.normal(size=(5, 32)).astype(np.float32)
    state_h, state_c = (rng.normal(size=(5, 6)).astype(np.float32) for _ in range(2))
    mine = network.value_prefix_logits(hidden, state_h, state_c)  # the numpy mirror's
    keras_step = BaseNetwork.value_prefix_logits(network, hidden, state_h, state_c)
    for ours, theirs in zip(mine, keras_step, strict=True):
        assert np.abs(theirs).max() > 0.05  # not a zero head
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_the_batched_search_equals_the_reference_search_with_a_value_prefix():
    config, network = prefix_network(horizon=3)
    config = dataclasses.replace(config, num_simulations=30)
    games = [config.new_game(seed=i) for i in range(6)]
    batched = search_games(config, network, games)
    expected = search_games(dataclasses.replace(config, search="reference"), network, games)
    np.testing.assert_array_equal(batched.visit_counts, expected.visit_counts)
    np.testing.assert_allclose(batched.root_value, expected.root_value, rtol=1e-5, atol=1e-5)


def test_the_reward_loss_is_against_the_prefix_targets():
    config = make_cartpole_config(
        batch_size=16, num_unroll_steps=5, td_steps=5, value_support_size=10,
        reward_support_size=10, max_moves=40, value_prefix_horizon=3, value_prefix_lstm_size=8,
        hidden_state_size=8, hidden_layers=(16,), prioritized_replay=False,
        target_update_interval=0,
    )  # fmt: skip
    plain = dataclasses.replace(config, value_prefix_horizon=0)
    from self_play import SelfPlay

    games = SelfPlay(plain, np.random.default_rng(0)).play(plain.new_network(), 200).finished
    buffers = []
    for each in (config, plain):
        replay = ReplayBuffer(each)
        for game in games:
            replay.save_game(game)
        buffers.append(replay)
    batch, reference = (replay.sample_batch(5, 5, np.random.default_rng(2)) for replay in buffers)
    # CartPole pays 1 a move: the prefix of step k is 1 + d + .. + d^(j) within its segment.
    decoded = logits_to_scalar(np.log(batch.target_rewards + 1e-30), 10)
    steps = logits_to_scalar(np.log(reference.target_rewards + 1e-30), 10)
    np.testing.assert_allclose(decoded, value_prefixes(steps, 3, config.discount), atol=1e-3)
    network = config.new_network()
    losses = compute_losses(network, batch.tensors(), 1.0, 0.0, training=False)
    assert np.isfinite(float(losses["reward"])) and float(losses["reward"]) > 0


def test_a_run_with_a_value_prefix_trains_and_its_checkpoint_holds_the_lstm(tmp_path):
    config = make_cartpole_config(
        training_steps=8, training_steps_per_iteration=4, selfplay_moves_per_iteration=40,
        min_replay_moves=40, num_simulations=4, num_parallel_games=4, batch_size=8,
        hidden_state_size=8, hidden_layers=(16,), value_support_size=5, reward_support_size=5,
        value_prefix_horizon=5, value_prefix_lstm_size=8, checkpoint_interval=4,
    )  # fmt: skip
    network = muzero.muzero(config, tmp_path)
    _, state = load_latest_checkpoint(tmp_path)
    # The LSTM's kernel, recurrent kernel and bias, and its output layer's kernel and bias.
    assert len(network.value_prefix.get_weights()) == 5
    three = (network.representation, network.dynamics, network.prediction)
    assert len(state["weights"]) == 5 + sum(len(model.get_weights()) for model in three)
    again = config.new_network()
    again.set_weights(state["weights"])
    for mine, theirs in zip(network.value_prefix.get_weights(), again.value_prefix.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_a_value_prefix_is_for_one_player_games():
    with pytest.raises(ValueError, match="value_prefix_horizon is for one-player games"):
        make_tictactoe_config(value_prefix_horizon=5)


def test_with_every_switch_off_the_network_batches_and_step_are_muzeros():
    """EfficientZero's switches off (the defaults) build nothing of theirs: the network's
    weights are the three models' (shapes by hand for this size), the batch holds the 7
    arrays of MuZero's step, the step takes those 7, and each phase takes
    `training_steps_per_iteration` steps."""
    from training import Trainer

    config = make_cartpole_config(hidden_state_size=8, hidden_layers=(16,),
                                  value_support_size=5, reward_support_size=3)  # fmt: skip
    assert (config.replay_ratio, config.consistency_loss_weight,
            config.value_prefix_horizon) == (0, 0, 0)  # fmt: skip
    network = config.new_network()
    assert network.value_prefix is None
    shapes = [w.shape for w in network.get_weights()]
    # representation: 4 -> 16 -> 8; dynamics: 8 + 2 -> 16 -> 8 and 7; prediction:
    # 8 -> 16 -> 2 and 11.
    assert shapes == [
        (4, 16), (16,), (16, 8), (8,),
        (10, 16), (16,), (16, 8), (8,), (16, 7), (7,),
        (8, 16), (16,), (16, 2), (2,), (16, 11), (11,),
    ]  # fmt: skip
    trainer = Trainer(config, network)
    assert trainer.consistency is None
    assert len(trainer._step.input_signature) == 7
    assert muzero.phase_steps(config, 400, 0.0) == (config.training_steps_per_iteration, 0.0)


def test_an_image_hidden_state_is_reduced_by_a_1x1_convolution_before_the_lstm(tmp_path):
    from tests.test_images import toy_config

    config = toy_config(value_prefix_horizon=3, value_prefix_lstm_size=6, batch_size=8,
                        training_steps=4, training_steps_per_iteration=2,
                        selfplay_moves_per_iteration=40, min_replay_moves=20,
                        checkpoint_interval=2)  # fmt: skip
    network = config.new_network()
    channels = network.hidden_shape[-1]
    conv = network.value_prefix.get_layer("value_prefix_conv")
    assert conv.kernel.shape == (1, 1, channels, 16)  # EfficientZero's 16 planes
    cells = int(np.prod(network.hidden_shape[:-1]))
    assert network.value_prefix.get_layer("value_prefix_lstm").kernel.shape == (cells * 16, 24)
    # The batched search reads the prefixes' differences as the reference search does.
    games = [config.new_game(seed=i) for i in range(4)]
    batched = search_games(config, network, games)
    reference = search_games(dataclasses.replace(config, search="reference"), network, games)
    np.testing.assert_array_equal(batched.visit_counts, reference.visit_counts)
    np.testing.assert_allclose(batched.root_value, reference.root_value, atol=1e-5)
    # The reward loss reaches the convolution (once the zero-initialised output layer is not
    # zero: before that, no gradient passes it).
    out = network.value_prefix.get_layer("value_prefix_out")
    kernel, bias = out.get_weights()
    out.set_weights([np.random.default_rng(2).normal(0, 0.1, kernel.shape), bias])
    from self_play import SelfPlay

    replay = ReplayBuffer(config)
    for game in SelfPlay(config, np.random.default_rng(0)).play(network, 40).finished:
        replay.save_game(game)
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(1))
    with tf.GradientTape() as tape:
        losses = compute_losses(network, batch.tensors(), 1.0, 0.0, training=True)
    gradient = tape.gradient(losses["reward"], conv.kernel)
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0
    # A run trains it, and its batch statistics travel with the checkpoint.
    trained = muzero.muzero(config, tmp_path)
    _, state = load_latest_checkpoint(tmp_path)
    again = config.new_network()
    again.set_weights(state["weights"])
    statistics = trained.value_prefix.get_layer("value_prefix_bn").moving_variance.numpy()
    assert not np.allclose(statistics, 1.0)  # batch statistics were gathered in training
    for mine, theirs in zip(trained.value_prefix.get_weights(), again.value_prefix.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
