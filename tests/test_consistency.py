"""EfficientZero's temporal consistency loss: its value, its stop-gradient, its batches."""

import math

import numpy as np
import pytest
import tensorflow as tf

import muzero
from config import make_cartpole_config, make_connect4_config
from tests.test_replay import filled, played  # noqa: F401  (a fixture)
from training import ReplayBuffer, Trainer, compute_losses
from training.checkpoint import list_checkpoints, read_checkpoint, restore_run
from training.consistency import (
    ConsistencyHeads,
    consistency_step_loss,
    negative_cosine_similarity,
)
from training.metrics import read_metrics


def small_config(**overrides):
    settings = dict(
        batch_size=16, num_unroll_steps=3, td_steps=5, num_simulations=4,
        num_parallel_games=4, hidden_state_size=8, hidden_layers=(16,), value_support_size=5,
        reward_support_size=3, weight_decay=0.0, max_moves=12, prioritized_replay=False,
        target_update_interval=0, consistency_loss_weight=2.0,
        consistency_projection_size=16, consistency_predictor_size=8,
    )  # fmt: skip
    settings.update(overrides)
    return make_cartpole_config(**settings)


def test_negative_cosine_similarity_by_hand():
    predicted = tf.constant([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0], [0.0, 0.0]])
    target = tf.constant([[1.0, 1.0], [0.0, -3.0], [6.0, 8.0], [1.0, 2.0]])
    # cos 45 degrees; opposite; parallel (lengths do not count); a zero row: cosine 0.
    expected = [-1 / math.sqrt(2), 1.0, -1.0, 0.0]
    np.testing.assert_allclose(negative_cosine_similarity(predicted, target), expected, atol=1e-6)


def test_no_gradient_reaches_the_observed_branch():
    heads = ConsistencyHeads((3,), projection_size=4, predictor_size=2)
    rng = np.random.default_rng(0)
    predicted = tf.Variable(rng.normal(size=(5, 3)), dtype=tf.float32)
    observed = tf.Variable(rng.normal(size=(5, 3)), dtype=tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_mean(consistency_step_loss(heads, predicted, observed))
    assert tape.gradient(loss, observed) is None
    assert np.abs(tape.gradient(loss, predicted).numpy()).sum() > 0
    # The projection learns through the predicted branch only: its gradient is the one of
    # the same loss with the observed projection given as a constant.
    target = tf.constant(heads.projection(observed, training=False))
    with tf.GradientTape() as tape_constant:
        predicted_out = heads.predictor(heads.projection(predicted, training=False),
                                        training=False)  # fmt: skip
        constant_loss = tf.reduce_mean(negative_cosine_similarity(predicted_out, target))
    with tf.GradientTape() as tape_eval:
        eval_loss = tf.reduce_mean(consistency_step_loss(heads, predicted, observed, False))
    variables = heads.projection.trainable_variables
    for ours, constant in zip(tape_eval.gradient(eval_loss, variables),
                              tape_constant.gradient(constant_loss, variables)):  # fmt: skip
        np.testing.assert_allclose(ours, constant, atol=1e-6)


def test_future_observations_are_the_games_own_and_repeated_where_none(played):  # noqa: F811
    _, games = played
    config = small_config(batch_size=64)
    batch = filled(config, games).sample_batch(3, 5, np.random.default_rng(1))
    assert batch.future_observations.shape == (64, 3, 4)
    assert len(batch.tensors()) == 8
    seen = 0
    for row, (game_id, position) in enumerate(zip(batch.game_ids, batch.positions)):
        game = games[game_id]
        for k in range(1, 4):
            state = int(position) + k
            if batch.masks[row, k, 2]:  # the step's state was searched: it has its image
                np.testing.assert_array_equal(batch.future_observations[row, k - 1],
                                              game.make_image(state))  # fmt: skip
                seen += 1
            else:  # none seen: the step before's, masked out of the loss
                before = (batch.observations[row] if k == 1
                          else batch.future_observations[row, k - 2])  # fmt: skip
                np.testing.assert_array_equal(batch.future_observations[row, k - 1], before)
    assert 0 < seen < 64 * 3
    plain = filled(small_config(consistency_loss_weight=0.0, batch_size=64), games)
    assert plain.sample_batch(3, 5, np.random.default_rng(1)).future_observations is None


def test_the_loss_is_the_masked_mean_of_each_steps_similarity(played):  # noqa: F811
    _, games = played
    config = small_config()
    trainer = Trainer(config, config.new_network())
    batch = filled(config, games).sample_batch(3, 5, np.random.default_rng(2))
    heads = trainer.consistency
    losses = compute_losses(trainer.network, batch.tensors(), 1.0, 0.0, training=False,
                            consistency=heads, consistency_loss_weight=2.0)  # fmt: skip
    plain = compute_losses(trainer.network, batch.tensors()[:7], 1.0, 0.0, training=False)
    network = trainer.network
    hidden = network.represent(batch.observations)
    expected = 0.0
    for k in range(1, 4):
        hidden, _ = network.dynamics_step(hidden, batch.actions[:, k - 1])
        observed = network.represent(batch.future_observations[:, k - 1])
        similarity = consistency_step_loss(heads, hidden, observed, training=False).numpy()
        expected += np.mean(similarity * batch.masks[:, k, 2])
    assert float(losses["consistency"]) == pytest.approx(expected, rel=1e-5)
    assert -3 <= expected <= 3
    # In the total at weight 2 (its gradient is scaled by 1/K with its step's, as the
    # pseudocode's `scale_gradient`: the value is unscaled).
    assert float(losses["total"]) == pytest.approx(float(plain["total"]) + 2.0 * expected, rel=1e-5)
    assert "consistency" not in plain


def test_a_run_trains_the_heads_and_its_checkpoint_keeps_them(tmp_path):
    config = small_config(training_steps=8, training_steps_per_iteration=4,
                          selfplay_moves_per_iteration=40, min_replay_moves=40,
                          checkpoint_interval=4, log_interval=4, batch_size=8)  # fmt: skip
    muzero.muzero(config, tmp_path)
    last, first = (read_checkpoint(path)["consistency_weights"]
                   for path in list_checkpoints(tmp_path))  # newest first  # fmt: skip
    assert any(not np.array_equal(a, b) for a, b in zip(first, last, strict=True))
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [row["training_step"] for row in rows] == [4, 8]
    assert all(-3 <= row["consistency"] <= 3 for row in rows)
    # Resumed, the heads come back as they were saved.
    resumed = Trainer(config, config.new_network())
    restore_run(tmp_path, resumed, ReplayBuffer(config), np.random.default_rng(0))
    for saved, loaded in zip(last, resumed.consistency.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, loaded)


def test_a_mirrored_position_has_its_future_observations_mirrored_too():
    from game.connect4 import Connect4
    from tests.test_two_player import play

    game = play(Connect4(), [0, 1, 1, 3, 2, 0])
    for _ in game.history:
        game.child_visits.append(np.full(7, 1 / 7))
        game.root_values.append(0.0)
    buffers = []
    for augment in (True, False):
        config = make_connect4_config(augment_symmetries=augment, batch_size=64,
                                      num_unroll_steps=3, consistency_loss_weight=2.0)  # fmt: skip
        buffers.append(filled(config, [game]))
    batch, reference = (replay.sample_batch(3, config.td_steps, np.random.default_rng(0))
                        for replay in buffers)  # fmt: skip
    (mirror,) = Connect4.symmetries()
    flipped = 0
    for row in range(64):
        seen = np.concatenate([batch.observations[row][None], batch.future_observations[row]])
        plain = np.concatenate([reference.observations[row][None],
                                reference.future_observations[row]])  # fmt: skip
        # Each sample as it was or mirrored as a whole: its position and its future alike.
        if not np.array_equal(seen, plain):
            flipped += 1
            np.testing.assert_array_equal(seen, mirror.observations(plain))
    assert 10 < flipped < 54  # about half of 64 are mirrored
