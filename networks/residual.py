"""Residual convolutional networks: board games and images (paper appendix F, scaled).

The paper's network: a convolutional representation, dynamics and prediction over
`[rows, columns, channels]` hidden states, the action given to the dynamics as planes. For
Atari the representation first downsamples the 96 x 96 frames to 6 x 6 (`downsample`).
Here the depth (`blocks`) and width (`channels`) are config values.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from networks.network import BaseNetwork, NetworkSettings


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


def _downsample(x, channels: int, blocks: tuple[int, int, int]):
    """The paper's Atari downsampling (appendix F), resolution / 16: a stride-2 convolution to
    ``channels // 2`` planes, ``blocks[0]`` residual blocks, a stride-2 convolution to
    `channels`, ``blocks[1]`` blocks, average pooling, ``blocks[2]`` blocks, average pooling.
    Paper: 128 and 256 planes, blocks (2, 3, 3); 96 x 96 -> 48 -> 24 -> 12 -> 6."""
    half = channels // 2
    x = keras.layers.Conv2D(half, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    for _ in range(blocks[0]):
        x = _residual_block(x, half)
    x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    for _ in range(blocks[1]):
        x = _residual_block(x, channels)
    x = keras.layers.AveragePooling2D(3, strides=2, padding="same")(x)
    for _ in range(blocks[2]):
        x = _residual_block(x, channels)
    return keras.layers.AveragePooling2D(3, strides=2, padding="same")(x)


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

    Actions reach the dynamics as planes (`action_planes`): ``"cell"``, one plane with the
    chosen cell set (tic-tac-toe); ``"column"``, one plane with the chosen column set
    (Connect Four); ``"one_hot"``, one plane per action, the chosen one all ones (Atari: the
    paper's one-hot action tiled over the hidden state's planes).

    Args:
        settings: the sizes every network shares (`NetworkSettings`); the observations are
            `(rows, columns, planes)`.
        channels: planes of the hidden state and of every convolution.
        blocks: residual blocks of the representation and dynamics towers.
        head_units: width of the hidden dense layer of the value and reward heads (the
            paper's board-game value head has one; 0: none).
        prediction_blocks: residual blocks of the prediction tower, after a convolution;
            0: no tower, the heads read the hidden state (the paper's f is AlphaZero's heads).
        action_planes: ``"cell"``, ``"column"`` or ``"one_hot"``; None: ``"cell"`` when
            there is an action per cell, else ``"column"`` when there is one per column.
        downsample: the representation starts with the Atari downsampling (`_downsample`),
            of `downsample_blocks` residual blocks at its three resolutions.
    """

    def __init__(
        self,
        settings: NetworkSettings,
        channels: int = 32,
        blocks: int = 2,
        head_units: int = 64,
        prediction_blocks: int = 1,
        action_planes: str | None = None,
        downsample: bool = False,
        downsample_blocks: tuple[int, int, int] = (2, 3, 3),
    ):
        self.channels = channels
        self.blocks = blocks
        self.head_units = head_units
        self.prediction_blocks = prediction_blocks
        self.downsample = downsample
        self.downsample_blocks = tuple(downsample_blocks)
        rows, columns = settings.observation_shape[:2]
        action_space_size = settings.action_space_size
        if action_planes is None:
            if action_space_size not in (rows * columns, columns):
                raise ValueError(
                    f"ResidualNetwork needs one action per cell ({rows * columns}) or per "
                    f"column ({columns}), or action_planes='one_hot'; got {action_space_size} "
                    "actions"
                )
            action_planes = "cell" if action_space_size == rows * columns else "column"
        if action_planes not in ("cell", "column", "one_hot") or (
            downsample and action_planes != "one_hot"
        ):
            raise ValueError(f"ResidualNetwork: action_planes {action_planes!r} cannot be used")
        self.action_planes = action_planes
        super().__init__(*settings)

    def build_representation(self) -> keras.Model:
        observations = keras.Input(self.observation_shape, name="observation")
        x = observations
        if self.downsample:
            x = _downsample(x, self.channels, self.downsample_blocks)
        hidden = _tower(x, self.channels, self.blocks)
        return keras.Model(observations, hidden, name="representation")

    def hidden_resolution(self) -> tuple[int, int]:
        """Return the rows and columns of the hidden state."""
        rows, columns = self.observation_shape[:2]
        if self.downsample:  # two stride-2 convolutions and two poolings, rounding up
            for _ in range(4):
                rows, columns = -(-rows // 2), -(-columns // 2)
        return rows, columns

    def build_dynamics(self) -> keras.Model:
        rows, columns = self.hidden_resolution()
        planes = self.action_space_size if self.action_planes == "one_hot" else 1
        hidden = keras.Input((rows, columns, self.channels), name="hidden_state")
        action = keras.Input((rows, columns, planes), name="action")
        x = keras.layers.Concatenate()([hidden, action])
        next_hidden = _tower(x, self.channels, self.blocks)
        reward = _head(
            next_hidden, 2 * self.reward_support_size + 1, "reward_out", True, self.head_units
        )
        return keras.Model([hidden, action], [next_hidden, reward], name="dynamics")

    def build_prediction(self) -> keras.Model:
        rows, columns = self.hidden_resolution()
        hidden = keras.Input((rows, columns, self.channels), name="hidden_state")
        x = hidden
        if self.prediction_blocks:
            x = _tower(hidden, self.channels, self.prediction_blocks)
        policy = _head(x, self.action_space_size, "policy_out")
        value = _head(x, 2 * self.value_support_size + 1, "value_out", True, self.head_units)
        return keras.Model(hidden, [policy, value], name="prediction")

    def encode_action(self, hidden_states: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        """Return the action planes: `[B, rows, columns, 1]` with the chosen cell or column
        set to 1, or `[B, rows, columns, A]` with the chosen action's plane all ones."""
        rows, columns = self.hidden_resolution()
        one_hot = tf.one_hot(actions, self.action_space_size, dtype=tf.float32)
        if self.action_planes == "one_hot":
            return tf.tile(tf.reshape(one_hot, (-1, 1, 1, self.action_space_size)),
                           (1, rows, columns, 1))  # fmt: skip
        if self.action_planes == "cell":
            return tf.reshape(one_hot, (-1, rows, columns, 1))
        return tf.tile(tf.reshape(one_hot, (-1, 1, columns, 1)), (1, rows, 1, 1))
