import keras
import numpy as np
import pytest
import tensorflow as tf

from config import make_cartpole_config
from self_play import SelfPlay
from training import ReplayBuffer, Trainer, compute_losses, scale_gradient


def small_config(**overrides):
    settings = dict(
        batch_size=8,
        num_unroll_steps=3,
        td_steps=5,
        num_simulations=4,
        num_parallel_games=4,
        hidden_state_size=8,
        hidden_layers=(16,),
        value_support_size=5,
        reward_support_size=3,
        weight_decay=0.0,
        prioritized_replay=False,  # the pseudocode's replay (tests/test_replay.py has the rest)
        target_update_interval=0,
    )
    settings.update(overrides)
    return make_cartpole_config(**settings)


def test_scale_gradient_is_identity_forward_and_scales_backward():
    x = tf.Variable([1.0, -2.0, 3.0])
    with tf.GradientTape() as tape:
        y = scale_gradient(x * x, 0.5)
        total = tf.reduce_sum(y)
    np.testing.assert_allclose(y.numpy(), [1.0, 4.0, 9.0])
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), 0.5 * 2 * np.array([1, -2, 3]))


@pytest.fixture(scope="module")
def filled_buffer():
    config = small_config()
    replay = ReplayBuffer(config)
    network = config.new_network()
    stats = SelfPlay(config, np.random.default_rng(0)).play(network, 120)
    for game in stats.finished:
        replay.save_game(game)
    return config, replay, network


def test_sample_batch_shapes_and_targets(filled_buffer):
    config, replay, _ = filled_buffer
    batch = replay.sample_batch(config.num_unroll_steps, config.td_steps, np.random.default_rng(1))
    k = config.num_unroll_steps
    assert batch.observations.shape == (8, 4)
    assert batch.actions.shape == (8, k) and batch.actions.dtype == np.int32
    assert batch.target_values.shape == (8, k + 1, 11)
    assert batch.target_rewards.shape == (8, k + 1, 7)
    assert batch.target_policies.shape == (8, k + 1, 2)
    np.testing.assert_allclose(batch.target_values.sum(-1), 1.0, atol=1e-5)
    assert np.all(batch.masks[:, 0, 1] == 0)  # never a reward target at step 0
    # CartPole pays 1 per step: every reward target that applies is 1 or 0 (absorbing).
    support = np.arange(-3, 4)
    decoded = batch.target_rewards @ support
    assert np.all(np.isclose(decoded, 0.0) | np.isclose(decoded, 0.415, atol=1e-3))


def gradients(network, losses_fn):
    variables = network.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        losses = losses_fn()
    return {name: tape.gradient(losses[name], variables) for name in ("total", "value")}


@pytest.mark.parametrize("step, scale", [(0, 1.0), (2, 1 / 3)])
def test_recurrent_steps_are_scaled_by_one_over_k(filled_buffer, step, scale):
    config, replay, network = filled_buffer
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(2))
    masks = np.zeros_like(batch.masks)
    masks[:, step, 0] = 1.0  # only the value loss of one unroll step
    batch = batch._replace(masks=masks)
    grads = gradients(network, lambda: compute_losses(network, batch, 1.0, 0.0))
    for total, value in zip(grads["total"], grads["value"]):
        if value is not None:
            np.testing.assert_allclose(total.numpy(), scale * value.numpy(), rtol=1e-4, atol=1e-7)


def test_weight_decay_is_in_the_loss(filled_buffer):
    config, replay, network = filled_buffer
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(3))
    without = compute_losses(network, batch, 1.0, 0.0)
    with_decay = compute_losses(network, batch, 1.0, 1e-2)
    l2 = 1e-2 * sum(float(np.sum(w**2)) / 2 for w in network.get_weights())
    assert float(with_decay["l2"]) == pytest.approx(l2, rel=1e-4)
    assert float(with_decay["total"]) == pytest.approx(float(without["total"]) + l2, rel=1e-4)


def test_training_lowers_the_loss_on_a_fixed_batch(filled_buffer):
    config, replay, _ = filled_buffer
    config = small_config(optimizer="adam", lr_init=0.01)
    keras.utils.set_random_seed(0)  # the same start whatever ran before
    network = config.new_network()
    trainer = Trainer(config, network)
    batch = replay.sample_batch(3, config.td_steps, np.random.default_rng(4))
    first = trainer.update_weights(batch)["total"]
    for _ in range(120):
        last = trainer.update_weights(batch)["total"]
    # Cross-entropies cannot fall below the targets' own entropy (two-hot values, visit
    # distributions), which here is a bit under half the first loss: it ends at ~0.48.
    assert last < 0.6 * first
    assert network.training_steps() == 121
    assert trainer.learning_rate() == pytest.approx(
        0.01 * 0.1 ** (121 / config.lr_decay_steps), rel=1e-4
    )


@pytest.mark.slow  # compiling with XLA takes ~15 s
def test_xla_compiled_step_matches_the_plain_step():
    from config import make_tictactoe_config

    def config(jit):
        return make_tictactoe_config(
            residual_channels=4, batch_size=8, num_unroll_steps=2, num_simulations=4,
            num_parallel_games=4, jit_compile=jit,
        )  # fmt: skip

    keras.utils.set_random_seed(0)
    replay = ReplayBuffer(config(False))
    network = config(False).new_network()
    for game in SelfPlay(config(False), np.random.default_rng(0)).play(network, 60).finished:
        replay.save_game(game)
    batch = replay.sample_batch(2, 9, np.random.default_rng(1))
    weights = network.get_weights()
    results = []
    for jit in (False, True):
        network.set_weights(weights)
        trainer = Trainer(config(jit), network)
        losses = [trainer.update_weights(batch) for _ in range(2)]
        results.append((losses, network.get_weights()))
    (plain_losses, plain_weights), (xla_losses, xla_weights) = results
    for name in ("total", "value", "reward", "policy"):  # the same weights: the same losses
        assert xla_losses[0][name] == pytest.approx(plain_losses[0][name], rel=1e-5)
    # Adam's first step moves each weight by lr = 0.003 times the sign of its gradient, so
    # the two paths' weights agree to well within a step, and so do the next losses.
    moved = max(float(np.max(np.abs(p - w))) for p, w in zip(plain_weights, weights))
    assert moved > 2e-3
    for plain, xla in zip(plain_weights, xla_weights):
        np.testing.assert_allclose(xla, plain, atol=3e-4)
    assert xla_losses[1]["total"] == pytest.approx(plain_losses[1]["total"], rel=1e-3)
