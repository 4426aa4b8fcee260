"""EfficientZero's value prefix (Ye et al., 2021, section 4.2): the reward head predicts the
discounted sum of the rewards since the unroll (or the search) started, with a recurrent
layer, instead of each step's reward on its own.

A reward lost in one step of an imagined rollout (the model unsure *when* it comes) still
counts in the prefix, which is easier to predict. The recurrent state is reset every
`horizon` steps (paper: 5), and the prefix with it. With steps ``k = 1, 2, ...`` of an
unroll, `u_k` the reward of the move into step `k` and `s(k) = H * floor((k - 1) / H) + 1`
the first step of `k`'s segment of `H` steps:

    P_k = sum_{i = s(k)}^{k} discount^(i - s(k)) u_i

and the search's reward of the move into step `k` is the difference
``u_k = (P_k - P_{k-1}) / discount^(k - s(k))``, with ``P_{s(k) - 1} = 0`` (the parent
ended a segment: its prefix counts as 0, as in EfficientZero's tree).

EfficientZero's own code sums the rewards undiscounted (its discount is close to 1 and the
horizon short); the paper, and this package, discount them.
"""

from __future__ import annotations

import keras
import numpy as np


def value_prefixes(rewards: np.ndarray, horizon: int, discount: float) -> np.ndarray:
    """Return the value prefix `P_k` of every unroll step from its rewards.

    Args:
        rewards: `[N, K + 1]` `u_k`, the reward of the move into step `k` (column 0, the
            unroll's start, is ignored: no move led there).
        horizon: `H`, the steps after which the prefix starts again from 0.
        discount: the game's discount.

    Returns:
        `[N, K + 1]` float64 prefixes, 0 at step 0.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    prefixes = np.zeros_like(rewards)
    for step in range(1, rewards.shape[1]):
        into_segment = (step - 1) % horizon  # 0 at the first step of a segment
        before = prefixes[:, step - 1] if into_segment else 0.0
        prefixes[:, step] = before + discount**into_segment * rewards[:, step]
    return prefixes


def rewards_from_prefixes(prefixes: np.ndarray, horizon: int, discount: float) -> np.ndarray:
    """Invert `value_prefixes`: `[N, K + 1]` prefixes to each step's reward (0 at step 0)."""
    prefixes = np.asarray(prefixes, dtype=np.float64)
    rewards = np.zeros_like(prefixes)
    for step in range(1, prefixes.shape[1]):
        into_segment = (step - 1) % horizon
        before = prefixes[:, step - 1] if into_segment else 0.0
        rewards[:, step] = (prefixes[:, step] - before) / discount**into_segment
    return rewards


#: Channels the 1 x 1 convolution reduces an image hidden state to before the LSTM
#: (EfficientZero's Atari network: `reduced_channels_reward`, 16).
REDUCED_CHANNELS = 16


def build_value_prefix_model(hidden_shape: tuple[int, ...], lstm_size: int,
                             support_size: int,
                             reduced_channels: int = REDUCED_CHANNELS) -> keras.Model:  # fmt: skip
    """Return the value prefix head: ``[hidden [B, *H], h [B, L], c [B, L]] -> [prefix
    logits [B, 2 * support_size + 1], h', c']``.

    The hidden state the dynamics predicted enters an LSTM of `lstm_size` units
    (EfficientZero, Atari: 512) whose state runs along the unroll; its output, through a
    ReLU, gives the prefix logits with a zero-initialised dense layer (a new network
    predicts a prefix of 0, as the MuZero reward heads here predict a reward of 0). A flat
    hidden state enters the LSTM as it is; an image one (`[H, W, C]`) first passes through a
    1 x 1 convolution to `reduced_channels` planes, batch normalisation and a ReLU, and is
    then flattened, as in EfficientZero's network (Atari's 6 x 6 x 256 = 9,216 inputs become
    576).
    """
    hidden = keras.Input(tuple(hidden_shape), name="hidden_state")
    state_h = keras.Input((lstm_size,), name="lstm_h")
    state_c = keras.Input((lstm_size,), name="lstm_c")
    x = hidden
    if len(hidden_shape) == 3:
        x = keras.layers.Conv2D(reduced_channels, 1, use_bias=False,
                                name="value_prefix_conv")(x)  # fmt: skip
        x = keras.layers.BatchNormalization(name="value_prefix_bn")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Flatten()(x)
    output, (next_h, next_c) = keras.layers.LSTMCell(lstm_size, name="value_prefix_lstm")(
        x, [state_h, state_c]
    )
    x = keras.layers.ReLU()(output)
    logits = keras.layers.Dense(2 * support_size + 1, kernel_initializer="zeros",
                                name="value_prefix_out")(x)  # fmt: skip
    return keras.Model([hidden, state_h, state_c], [logits, next_h, next_c], name="value_prefix")
