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
from networks.transforms import logits_to_scalar, softmax, support_to_scalar
from training.consistency import ConsistencyHeads, consistency_step_loss
from training.reanalyse import Reanalyser
from training.replay_buffer import Batch, ReplayBuffer

LOSS_NAMES = ("total", "value", "reward", "policy", "l2")
#: Losses of EfficientZero's changes, there only when their switch is on (not in MuZero).
EXTRA_LOSS_NAMES = ("consistency",)
#: What each training step measures besides its losses (not in the pseudocode; see
#: `diagnostics`).
DIAGNOSTIC_NAMES = (
    "value_error",
    "reward_error",
    "prior_entropy",
    "search_entropy",
    "importance_weight",
)


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
    with_predictions: bool = False,
    consistency: ConsistencyHeads | None = None,
    consistency_loss_weight: float = 0.0,
):
    """Return the losses of one batch. Pseudocode: the loss of `update_weights`.

    The initial step counts fully; each of the `K` recurrent steps is scaled by 1/K (through
    `scale_gradient`, as the pseudocode), and the gradient entering each dynamics step is
    halved. Losses are cross-entropies on the categorical supports (value, reward) and
    against the search policy, masked where a step has no target, each position's scaled by
    its importance weight (prioritized replay; paper appendix G), averaged over the batch;
    L2 weight decay ``weight_decay * sum(w^2) / 2`` over all weights is added. With a
    network's `value_prefix_horizon` (EfficientZero's value prefix), the reward loss is that
    of the value prefix model's logits, its LSTM state carried along the unroll and reset
    every `value_prefix_horizon` steps, against the prefix targets the batch holds.

    With `consistency` (EfficientZero's temporal consistency, `training.consistency`), each
    recurrent step's loss also holds ``consistency_loss_weight`` times the mean negative
    cosine similarity of its predicted hidden state and the representation of the
    observation seen at that step, where the step has one (its policy mask), scaled by 1/K
    with the rest of the step's loss.

    Args:
        batch: a `Batch`'s `tensors()` (without `weights`: all 1; with `consistency`, the
            `future_observations` after them).
        with_predictions: also return the network's outputs the diagnostics read.
        consistency: the projection and predictor heads (None: no consistency loss).
        consistency_loss_weight: its weight (EfficientZero: 2).

    Returns:
        ``total``, ``value``, ``reward``, ``policy`` (unscaled sums over the unroll) and ``l2``;
        with `consistency`, also ``consistency`` (its unscaled sum over steps 1 .. K);
        with `with_predictions`, also ``value_logits`` `[N, V]` and ``policy_logits``
        `[N, A]` of step 0 and ``reward_logits`` `[N, K, R]` of steps 1 .. K, as a second dict.
    """
    observations, actions, target_values, target_rewards, target_policies, masks = batch[:6]
    weights = batch[6] if len(batch) > 6 else tf.ones(tf.shape(actions)[:1])
    num_unroll_steps = actions.shape[1]
    hidden = network.represent(observations, training=training)
    observed = None
    if consistency is not None:
        # The representations of the observations at steps 1 .. K, in one call.
        future = batch[7]
        flat = tf.reshape(future, [-1, *future.shape[2:]])
        observed = tf.reshape(network.represent(flat, training=training),
                              [-1, num_unroll_steps, *hidden.shape[1:]])  # fmt: skip
    policy_logits, value_logits = network.predict(hidden, training=training)
    reward_logits = None
    horizon = getattr(network, "value_prefix_horizon", 0)
    if horizon:  # EfficientZero's value prefix: an LSTM along the unroll, reset every H steps
        zeros = tf.zeros([tf.shape(actions)[0], network.value_prefix_lstm_size])
        lstm_state = [zeros, zeros]
    weighted = tf.constant(0.0)
    totals = {"value": tf.constant(0.0), "reward": tf.constant(0.0), "policy": tf.constant(0.0)}
    if consistency is not None:
        totals["consistency"] = tf.constant(0.0)
    predictions = {"value_logits": value_logits, "policy_logits": policy_logits}
    reward_steps = []
    for step in range(num_unroll_steps + 1):
        if step > 0:
            hidden, reward_logits = network.dynamics_step(
                scale_gradient(hidden, 0.5), actions[:, step - 1], training=training
            )
            if horizon:
                reward_logits, lstm_state = network.value_prefix_step(
                    hidden, lstm_state, training=training
                )
                if step % horizon == 0:
                    lstm_state = [zeros, zeros]
            policy_logits, value_logits = network.predict(hidden, training=training)
            reward_steps.append(reward_logits)
        mask = masks[:, step] * weights[:, None]
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
        if observed is not None and step > 0:
            similarity = consistency_step_loss(consistency, hidden, observed[:, step - 1],
                                               training=training)  # fmt: skip
            consistency_loss = tf.reduce_mean(similarity * mask[:, 2])
            step_loss += consistency_loss_weight * consistency_loss
            totals["consistency"] += consistency_loss
        weighted += scale_gradient(step_loss, 1.0 if step == 0 else 1.0 / num_unroll_steps)
        totals["value"] += value_loss
        totals["reward"] += reward_loss
        totals["policy"] += policy_loss
    variables = network.trainable_variables
    if consistency is not None:
        variables = variables + consistency.trainable_variables
    l2 = weight_decay * tf.add_n([tf.nn.l2_loss(w) for w in variables])
    losses = {"total": weighted + l2, **totals, "l2": l2}
    if not with_predictions:
        return losses
    if reward_steps:
        predictions["reward_logits"] = tf.stack(reward_steps, axis=1)
    return losses, predictions


def diagnostics(config, batch: Batch, predictions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return what a training step tells of the learning, beside its losses.

    Not in the pseudocode; shown in the metrics and the plot so a drifting run can be seen:

    - ``value_errors``: `[N]` ``|v - z|`` of the network's value at step 0 and its target,
      as scalars (the priorities of prioritized replay); ``value_error`` their mean;
    - ``reward_error``: mean ``|r - u|`` of the predicted and observed rewards of steps
      1 .. K where a reward target applies;
    - ``prior_entropy``: mean entropy (nats) of the network's policy at step 0;
    - ``search_entropy``: mean entropy of the search policies it is trained towards;
    - ``importance_weight``: mean importance weight of the positions (1 without prioritized
      replay; far below 1, the losses shrink beside the L2 term).
    """
    value_support, reward_support = config.value_support_size, config.reward_support_size
    transform = config.value_transform
    values = logits_to_scalar(predictions["value_logits"], value_support, transform)
    targets = support_to_scalar(batch.target_values[:, 0], value_support, transform)
    value_errors = np.abs(values - targets)
    out = {
        "value_errors": value_errors,
        "value_error": float(value_errors.mean()),
        "reward_error": float("nan"),
        "importance_weight": float(np.mean(batch.weights)),
    }
    if "reward_logits" in predictions:
        rewards = logits_to_scalar(predictions["reward_logits"], reward_support, transform)
        observed = support_to_scalar(batch.target_rewards[:, 1:], reward_support, transform)
        mask = batch.masks[:, 1:, 1]
        out["reward_error"] = float(np.sum(np.abs(rewards - observed) * mask) / max(mask.sum(), 1))
    prior = softmax(predictions["policy_logits"].astype(np.float64))
    out["prior_entropy"] = float(np.mean(_entropy(prior)))
    searched = batch.masks[:, 0, 2] > 0
    search = _entropy(batch.target_policies[:, 0][searched].astype(np.float64))
    out["search_entropy"] = float(search.mean()) if searched.any() else float("nan")
    return out


def _entropy(distributions: np.ndarray) -> np.ndarray:
    """Return the entropy (nats) of each row of `[N, A]` distributions (0 log 0 = 0)."""
    logs = np.log(np.where(distributions > 0, distributions, 1.0))
    return -np.sum(distributions * logs, axis=-1)


class Trainer:
    """Own the optimizer and the compiled update step of one network.

    The step is a `tf.function` with a fixed signature (any batch size, no retracing). It
    also holds the `reanalyser` of the network's batches (`training.reanalyse`): with
    `config.target_update_interval` its target network is a copy of the weights taken
    every that many steps, whose values bootstrap the value targets (MuZero Reanalyze,
    paper appendix H).
    """

    def __init__(self, config, network: BaseNetwork):
        self.config = config
        self.network = network
        #: The target network and the fresh search of the batches `network` trains on.
        self.reanalyser = Reanalyser(config, network)
        #: `[N]` value errors of the last step's positions (their new priorities).
        self.value_errors = np.zeros(0)
        #: EfficientZero's projection and predictor (None: no consistency loss).
        self.consistency: ConsistencyHeads | None = None
        if config.consistency_loss_weight:
            self.consistency = ConsistencyHeads(network.hidden_shape,
                                                config.consistency_projection_size,
                                                config.consistency_predictor_size)  # fmt: skip
        self.optimizer = make_optimizer(config)
        self.optimizer.build(self.trainable_variables)
        obs = tf.TensorSpec([None, *config.observation_shape], tf.float32)
        k = config.num_unroll_steps
        signature = [
            obs,
            tf.TensorSpec([None, k], tf.int32),
            tf.TensorSpec([None, k + 1, 2 * config.value_support_size + 1], tf.float32),
            tf.TensorSpec([None, k + 1, 2 * config.reward_support_size + 1], tf.float32),
            tf.TensorSpec([None, k + 1, config.action_space_size], tf.float32),
            tf.TensorSpec([None, k + 1, 3], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ]
        if self.consistency is not None:  # the observations of steps 1 .. K
            signature.append(tf.TensorSpec([None, k, *config.observation_shape], tf.float32))
        self._step = tf.function(
            self._update, jit_compile=config.jit_compile, input_signature=signature
        )
        #: `_step`'s concrete function, once its first call has traced it.
        self._compiled = None

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """Return what the optimizer trains: the network's variables, then the heads'."""
        variables = self.network.trainable_variables
        if self.consistency is not None:
            variables = variables + self.consistency.trainable_variables
        return variables

    def _update(self, *batch):
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            losses, predictions = compute_losses(
                self.network, batch, self.config.value_loss_weight, self.config.weight_decay,
                with_predictions=True, consistency=self.consistency,
                consistency_loss_weight=self.config.consistency_loss_weight,
            )  # fmt: skip
        gradients = tape.gradient(losses["total"], variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return losses, predictions

    @property
    def target_network(self) -> BaseNetwork | None:
        """The reanalyser's target network (None without `target_update_interval`)."""
        return self.reanalyser.target_network

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
        """Take one optimizer step on `batch`. Pseudocode: `update_weights`.

        Returns:
            The losses (`LOSS_NAMES`) and the `diagnostics` (`DIAGNOSTIC_NAMES`) of the step;
            its positions' value errors are left in `value_errors`.
        """
        if self._compiled is None:
            # The first call traces through the `tf.function` (under its XLA context when
            # `jit_compile`); later ones call that trace as its concrete function, skipping
            # the `tf.function`'s trace-cache lookup and bookkeeping on every step.
            losses, predictions = self._step(*batch.tensors())
            self._compiled = self._step.get_concrete_function()
        else:
            losses, predictions = self._compiled(*batch.tensors())
        self.network.steps += 1
        self.network.weights_changed()
        self.reanalyser.note_training_step()
        measured = diagnostics(
            self.config, batch, {name: value.numpy() for name, value in predictions.items()}
        )
        self.value_errors = measured.pop("value_errors")
        return {**{name: float(value) for name, value in losses.items()}, **measured}


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
    # With Reanalyze the phase's batches are drawn first and searched again together (one
    # batched search: see `ReplayBuffer.sample_batches`); otherwise each step draws its own,
    # from the priorities the step before refreshed.
    ahead = num_steps if config.reanalyse_fraction else 1
    batches: list[Batch] = []
    for _ in range(num_steps):
        if not batches:
            batches = replay_buffer.sample_batches(
                ahead, config.num_unroll_steps, config.td_steps, rng, trainer.reanalyser
            )
        batch = batches.pop(0)
        losses = trainer.update_weights(batch)
        if config.prioritized_replay:
            replay_buffer.update_priorities(batch.game_ids, batch.positions, trainer.value_errors)
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
