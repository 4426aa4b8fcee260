"""Training: the losses of the paper, one compiled update step, and the training loop.

Pseudocode: `train_network`, `update_weights`, `scale_gradient` (paper appendix "Pseudocode";
losses in appendix G, eq. (1)).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from networks import BaseNetwork, SharedStorage
from training.replay_buffer import Batch, ReplayBuffer

LOSS_NAMES = ("total", "value", "reward", "policy", "l2")


def scale_gradient(tensor: tf.Tensor, scale: float) -> tf.Tensor:
    """Return `tensor` unchanged, with its gradient multiplied by `scale` on the way back.

    Pseudocode: `scale_gradient`.
    """
    return tensor * scale + tf.stop_gradient(tensor) * (1.0 - scale)


def make_optimizer(config) -> keras.optimizers.Optimizer:
    """Return the optimizer: SGD with momentum (pseudocode) or Adam, exponential lr decay.

    ``lr = lr_init * lr_decay_rate ** (step / lr_decay_steps)``.
    """
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.lr_init, config.lr_decay_steps, config.lr_decay_rate
    )
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=schedule)
    return keras.optimizers.SGD(learning_rate=schedule, momentum=config.momentum)


def _cross_entropy(target: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Return `[N]` cross-entropies of `[N, C]` target distributions and logits."""
    return -tf.reduce_sum(target * tf.nn.log_softmax(logits, axis=-1), axis=-1)


def compute_losses(
    network: BaseNetwork,
    batch,
    value_loss_weight: float,
    weight_decay: float,
    training: bool = True,
) -> dict[str, tf.Tensor]:
    """Return the losses of one batch. Pseudocode: the loss of `update_weights`.

    The initial step counts fully; each of the `K` recurrent steps is scaled by 1/K (through
    `scale_gradient`, as the pseudocode), and the gradient entering each dynamics step is
    halved. Losses are cross-entropies on the categorical supports (value, reward) and
    against the search policy, masked where a step has no target, averaged over the batch;
    L2 weight decay ``weight_decay * sum(w^2) / 2`` over all weights is added.

    Returns:
        ``total``, ``value``, ``reward``, ``policy`` (unscaled sums over the unroll) and ``l2``.
    """
    observations, actions, target_values, target_rewards, target_policies, masks = batch
    num_unroll_steps = actions.shape[1]
    hidden = network.represent(observations, training=training)
    policy_logits, value_logits = network.predict(hidden, training=training)
    reward_logits = None
    weighted = tf.constant(0.0)
    totals = {"value": tf.constant(0.0), "reward": tf.constant(0.0), "policy": tf.constant(0.0)}
    for step in range(num_unroll_steps + 1):
        if step > 0:
            hidden, reward_logits = network.dynamics_step(
                scale_gradient(hidden, 0.5), actions[:, step - 1], training=training
            )
            policy_logits, value_logits = network.predict(hidden, training=training)
        mask = masks[:, step]
        value_loss = tf.reduce_mean(
            _cross_entropy(target_values[:, step], value_logits) * mask[:, 0]
        )
        policy_loss = tf.reduce_mean(
            _cross_entropy(target_policies[:, step], policy_logits) * mask[:, 2]
        )
        reward_loss = tf.constant(0.0)
        if reward_logits is not None:
            reward_loss = tf.reduce_mean(
                _cross_entropy(target_rewards[:, step], reward_logits) * mask[:, 1]
            )
        step_loss = value_loss_weight * value_loss + reward_loss + policy_loss
        weighted += scale_gradient(step_loss, 1.0 if step == 0 else 1.0 / num_unroll_steps)
        totals["value"] += value_loss
        totals["reward"] += reward_loss
        totals["policy"] += policy_loss
    l2 = weight_decay * tf.add_n([tf.nn.l2_loss(w) for w in network.trainable_variables])
    return {"total": weighted + l2, **totals, "l2": l2}


class Trainer:
    """Owns the optimizer and the compiled update step of one network.

    The step is a `tf.function` with a fixed signature (any batch size, no retracing).
    """

    def __init__(self, config, network: BaseNetwork):
        self.config = config
        self.network = network
        self.optimizer = make_optimizer(config)
        self.optimizer.build(network.trainable_variables)
        obs = tf.TensorSpec([None, *config.observation_shape], tf.float32)
        k = config.num_unroll_steps
        self._step = tf.function(
            self._update,
            jit_compile=config.jit_compile,
            input_signature=[
                obs,
                tf.TensorSpec([None, k], tf.int32),
                tf.TensorSpec([None, k + 1, 2 * config.value_support_size + 1], tf.float32),
                tf.TensorSpec([None, k + 1, 2 * config.reward_support_size + 1], tf.float32),
                tf.TensorSpec([None, k + 1, config.action_space_size], tf.float32),
                tf.TensorSpec([None, k + 1, 3], tf.float32),
            ],
        )

    def _update(self, *batch):
        variables = self.network.trainable_variables
        with tf.GradientTape() as tape:
            losses = compute_losses(
                self.network, batch, self.config.value_loss_weight, self.config.weight_decay
            )
        gradients = tape.gradient(losses["total"], variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return losses

    def optimizer_state(self) -> list[np.ndarray]:
        """Return the optimizer's variables (step count, moments) as arrays."""
        return [variable.numpy() for variable in self.optimizer.variables]

    def load_optimizer_state(self, state: list[np.ndarray]) -> None:
        """Restore what `optimizer_state` returned."""
        variables = self.optimizer.variables
        if len(state) != len(variables):
            raise ValueError(f"optimizer state has {len(state)} arrays, expected {len(variables)}")
        for variable, value in zip(variables, state):
            variable.assign(value)

    def learning_rate(self) -> float:
        """Return the current learning rate."""
        return float(self.optimizer.learning_rate)

    def update_weights(self, batch: Batch) -> dict[str, float]:
        """Take one optimizer step on `batch`. Pseudocode: `update_weights`."""
        losses = self._step(*batch)
        self.network.steps += 1
        self.network.weights_changed()
        return {name: float(value) for name, value in losses.items()}


def train_network(
    config,
    storage: SharedStorage,
    replay_buffer: ReplayBuffer,
    trainer: Trainer,
    num_steps: int,
    rng: np.random.Generator,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> float:
    """Train `num_steps` steps on sampled batches. Pseudocode: `train_network`.

    The network is saved to `storage` every `checkpoint_interval` steps and at the end.

    Returns:
        The seconds spent.
    """
    start = time.perf_counter()
    network = trainer.network
    for _ in range(num_steps):
        batch = replay_buffer.sample_batch(config.num_unroll_steps, config.td_steps, rng)
        losses = trainer.update_weights(batch)
        if not np.isfinite(losses["total"]):
            raise FloatingPointError(
                f"training step {network.steps}: the loss is {losses['total']}; stopped"
            )
        if network.steps % config.checkpoint_interval == 0:
            storage.save_network(network.steps, network)
        if on_step is not None:
            on_step(network.steps, losses)
    storage.save_network(network.steps, network)
    return time.perf_counter() - start
