"""A small residual convolutional network for board observations (paper appendix F, scaled).

The paper's board-game network: a convolutional representation, dynamics and prediction
over `[rows, columns, channels]` hidden states, the action given to the dynamics as a plane.
Here the depth (`blocks`) and width (`channels`) are config values.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from networks.network import BaseNetwork


def _conv(x, channels: int, kernel: int = 3):
    return keras.layers.Conv2D(channels, kernel, padding="same", use_bias=False)(x)


def _residual_block(x, channels: int):
    """Two 3x3 convolutions with batch normalisation and a skip connection."""
    y = keras.layers.ReLU()(keras.layers.BatchNormalization()(_conv(x, channels)))
    y = keras.layers.BatchNormalization()(_conv(y, channels))
    return keras.layers.ReLU()(keras.layers.Add()([x, y]))


def _tower(x, channels: int, blocks: int):
    """A convolution to `channels` planes, then `blocks` residual blocks."""
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(_conv(x, channels)))
    for _ in range(blocks):
        x = _residual_block(x, channels)
    return x


def _head(x, outputs: int, name: str, zero: bool = False, hidden_units: int = 0):
    """A 1x1 convolution to two planes, then (with `hidden_units`) a ReLU dense layer, then a
    dense layer to `outputs` logits."""
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(_conv(x, 2, kernel=1)))
    x = keras.layers.Flatten()(x)
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu")(x)
    initializer = "zeros" if zero else "glorot_uniform"
    return keras.layers.Dense(outputs, kernel_initializer=initializer, name=name)(x)


class ResidualNetwork(BaseNetwork):
    """Residual towers for h, g and f over `[rows, columns, C]` board planes.

    Actions reach the dynamics as one plane: a one-hot cell when there is an action per cell
    (tic-tac-toe), a one-hot column when there is an action per column (Connect Four).

    Args:
        observation_shape: `(rows, columns, planes)`.
        action_space_size, value_support_size, reward_support_size: as `BaseNetwork`.
        channels: planes of the hidden state and of every convolution.
        blocks: residual blocks of the representation and dynamics towers.
        head_units: width of the hidden dense layer of the value and reward heads (the
            paper's board-game value head has one; 0: none).
        prediction_blocks: residual blocks of the prediction tower, after a convolution;
            0: no tower, the heads read the hidden state (the paper's f is AlphaZero's heads).
        hidden_state_scaling: ``"min_max"`` (paper) or ``"tanh"``.
        value_transform: decode values and rewards with `h_inverse` (as `BaseNetwork`).
    """

    def __init__(
        self,
        observation_shape: tuple[int, ...],
        action_space_size: int,
        value_support_size: int,
        reward_support_size: int,
        channels: int = 32,
        blocks: int = 2,
        head_units: int = 64,
        prediction_blocks: int = 1,
        hidden_state_scaling: str = "min_max",
        value_transform: bool = True,
    ):
        self.channels = channels
        self.blocks = blocks
        self.head_units = head_units
        self.prediction_blocks = prediction_blocks
        rows, columns = observation_shape[:2]
        if action_space_size not in (rows * columns, columns):
            raise ValueError(
                f"ResidualNetwork needs one action per cell ({rows * columns}) or per column "
                f"({columns}); got {action_space_size} actions"
            )
        super().__init__(
            observation_shape,
            action_space_size,
            value_support_size,
            reward_support_size,
            hidden_state_scaling,
            value_transform,
        )

    def build_representation(self) -> keras.Model:
        observations = keras.Input(self.observation_shape, name="observation")
        hidden = _tower(observations, self.channels, self.blocks)
        return keras.Model(observations, hidden, name="representation")

    def build_dynamics(self) -> keras.Model:
        rows, columns = self.observation_shape[:2]
        hidden = keras.Input((rows, columns, self.channels), name="hidden_state")
        action = keras.Input((rows, columns, 1), name="action")
        x = keras.layers.Concatenate()([hidden, action])
        next_hidden = _tower(x, self.channels, self.blocks)
        reward = _head(
            next_hidden, 2 * self.reward_support_size + 1, "reward_out", True, self.head_units
        )
        return keras.Model([hidden, action], [next_hidden, reward], name="dynamics")

    def build_prediction(self) -> keras.Model:
        rows, columns = self.observation_shape[:2]
        hidden = keras.Input((rows, columns, self.channels), name="hidden_state")
        x = hidden
        if self.prediction_blocks:
            x = _tower(hidden, self.channels, self.prediction_blocks)
        policy = _head(x, self.action_space_size, "policy_out")
        value = _head(x, 2 * self.value_support_size + 1, "value_out", True, self.head_units)
        return keras.Model(hidden, [policy, value], name="prediction")

    def encode_action(self, hidden_states: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """Return `[B, rows, columns, 1]`: the chosen cell, or the chosen column, set to 1."""
        rows, columns = self.observation_shape[:2]
        one_hot = tf.one_hot(actions, self.action_space_size, dtype=tf.float32)
        if self.action_space_size == rows * columns:
            return tf.reshape(one_hot, (-1, rows, columns, 1))
        return tf.tile(tf.reshape(one_hot, (-1, 1, columns, 1)), (1, rows, 1, 1))
