"""EfficientZero's self-supervised temporal consistency (Ye, Liu, Kurutach, Abbeel and Gao,
"Mastering Atari Games with Limited Data", NeurIPS 2021, section 4.1).

The hidden state the dynamics predicts for unroll step `k` should be the one the
representation makes of the observation actually seen there. Both pass through a
projection; the predicted one also through a predictor; the loss is their negative cosine
similarity, with no gradient through the observed branch (SimSiam's stop-gradient: Chen and
He, "Exploring Simple Siamese Representation Learning", CVPR 2021). The heads are training
only: the search never reads them, so they live with the `Trainer`, not in the network.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def _dense_block(x, units: int, name: str, relu: bool = True):
    """Dense, batch normalisation and (with `relu`) ReLU, EfficientZero's layer of the heads."""
    x = keras.layers.Dense(units, name=f"{name}_dense")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


class ConsistencyHeads:
    """The projection and the predictor of the consistency loss, built for one hidden shape.

    As EfficientZero's: the projection flattens the hidden state and applies three dense
    layers of `projection_size` units, each batch-normalised, ReLU after the first two; the
    predictor two dense layers (`predictor_size` units, batch-normalised, ReLU; then
    `projection_size`). Paper, Atari: 1024 and 512.

    Args:
        hidden_shape: shape of one hidden state (``network.hidden_shape``).
        projection_size: units of the projection's layers and of its output.
        predictor_size: units of the predictor's hidden layer.
    """

    def __init__(self, hidden_shape: tuple[int, ...], projection_size: int, predictor_size: int):
        hidden = keras.Input(tuple(hidden_shape), name="hidden_state")
        x = keras.layers.Flatten()(hidden)
        x = _dense_block(x, projection_size, "projection_0")
        x = _dense_block(x, projection_size, "projection_1")
        projected = _dense_block(x, projection_size, "projection_2", relu=False)
        self.projection = keras.Model(hidden, projected, name="consistency_projection")
        inputs = keras.Input((projection_size,), name="projected")
        x = _dense_block(inputs, predictor_size, "predictor_0")
        predicted = keras.layers.Dense(projection_size, name="predictor_1_dense")(x)
        self.predictor = keras.Model(inputs, predicted, name="consistency_predictor")

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """Return the variables of both heads."""
        return self.projection.trainable_variables + self.predictor.trainable_variables

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of both heads' weights (projection, then predictor)."""
        return [*self.projection.get_weights(), *self.predictor.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Load weights given in the order of `get_weights`."""
        count = len(self.projection.get_weights())
        if len(weights) != count + len(self.predictor.get_weights()):
            raise ValueError(
                f"expected {count + len(self.predictor.get_weights())} consistency weight "
                f"arrays, got {len(weights)}"
            )
        self.projection.set_weights(weights[:count])
        self.predictor.set_weights(weights[count:])


def negative_cosine_similarity(predicted: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Return `[N]` ``-cos(predicted_i, target_i)`` of `[N, D]` rows (in [-1, 1]; a zero
    row counts as cosine 0)."""
    predicted = tf.math.l2_normalize(predicted, axis=-1, epsilon=1e-12)
    target = tf.math.l2_normalize(target, axis=-1, epsilon=1e-12)
    return -tf.reduce_sum(predicted * target, axis=-1)


def consistency_step_loss(
    heads: ConsistencyHeads,
    predicted_hidden: tf.Tensor,
    observed_hidden: tf.Tensor,
    training: bool = True,
) -> tf.Tensor:
    """Return `[N]` consistency losses of one unroll step (EfficientZero, eq. (1)'s L_c).

    Args:
        heads: the projection and predictor.
        predicted_hidden: `[N, *H]` the hidden states the dynamics predicted for the step.
        observed_hidden: `[N, *H]` the representation of the observations seen there; no
            gradient flows back through it, nor through its projection (stop-gradient).
        training: batch normalisation in training mode.
    """
    predicted = heads.predictor(heads.projection(predicted_hidden, training=training),
                                training=training)  # fmt: skip
    target = tf.stop_gradient(heads.projection(tf.stop_gradient(observed_hidden),
                                               training=training))  # fmt: skip
    return negative_cosine_similarity(predicted, target)
