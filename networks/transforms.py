"""Value transforms of the paper: h, its inverse, and the categorical support.

Paper appendix F ("Network Architecture"): scalar values and rewards are squashed with
``h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x`` and represented as a categorical distribution
over the integers ``-support_size .. support_size`` (two-hot: the mass is split between the
two nearest integers). All functions work on numpy scalars and arrays alike.
"""

from __future__ import annotations

import numpy as np

EPSILON = 0.001


def h(x: np.ndarray | float) -> np.ndarray:
    """Squash a value: ``h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x``. Inverse: `h_inverse`."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * (np.sqrt(np.abs(x) + 1.0) - 1.0) + EPSILON * x


def h_inverse(y: np.ndarray | float) -> np.ndarray:
    """Invert `h` exactly (the closed form of Pohlen et al., 2018, appendix A.2)."""
    y = np.asarray(y, dtype=np.float64)
    root = np.sqrt(1.0 + 4.0 * EPSILON * (np.abs(y) + 1.0 + EPSILON))
    return np.sign(y) * ((((root - 1.0) / (2.0 * EPSILON)) ** 2) - 1.0)


def scalar_to_support(
    x: np.ndarray | float, support_size: int, transform: bool = True
) -> np.ndarray:
    """Encode scalars as two-hot distributions over ``-support_size .. support_size``.

    The scalar is transformed with `h` first (unless `transform` is False) and clipped to the
    support.

    Args:
        x: scalars of any shape `S`.
        support_size: the support covers ``2 * support_size + 1`` integers.
        transform: squash with `h` (the paper's Atari encoding); False encodes `x` itself.

    Returns:
        `[*S, 2 * support_size + 1]` float32 probabilities. Inverse: `support_to_scalar`.
    """
    y = np.clip(h(x) if transform else np.asarray(x, dtype=np.float64), -support_size, support_size)
    low = np.floor(y)
    upper_weight = y - low
    low_index = (low + support_size).astype(np.int64)
    high_index = np.minimum(low_index + 1, 2 * support_size)
    out = np.zeros(y.shape + (2 * support_size + 1,), dtype=np.float32)
    np.put_along_axis(out, low_index[..., None], (1.0 - upper_weight)[..., None], axis=-1)
    # Adding (not putting) keeps the mass when low is the top of the support (weight 0 there).
    high = np.take_along_axis(out, high_index[..., None], axis=-1) + upper_weight[..., None]
    np.put_along_axis(out, high_index[..., None], high, axis=-1)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the softmax over the last axis, computed stably (float32 stays float32)."""
    logits = np.asarray(logits)
    if logits.dtype != np.float32:
        logits = logits.astype(np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def support_to_scalar(
    probabilities: np.ndarray, support_size: int, transform: bool = True
) -> np.ndarray:
    """Decode distributions over the support back to scalars: the expectation, then `h_inverse`.

    Args:
        probabilities: `[*S, 2 * support_size + 1]`, each row summing to one.
        support_size, transform: as in `scalar_to_support` (False: no `h_inverse`).

    Returns:
        `[*S]` float64 scalars.
    """
    support = np.arange(-support_size, support_size + 1, dtype=np.float64)
    expectation = np.asarray(probabilities, dtype=np.float64) @ support
    return h_inverse(expectation) if transform else expectation


def logits_to_scalar(logits: np.ndarray, support_size: int, transform: bool = True) -> np.ndarray:
    """Decode network logits over the support to scalars (softmax, then `support_to_scalar`)."""
    return support_to_scalar(softmax(logits), support_size, transform)


def scale_hidden_state(hidden: np.ndarray, mode: str, xp=np) -> np.ndarray:
    """Scale each hidden state to a fixed range, the same for numpy and TensorFlow tensors.

    Paper appendix G: "we scale the hidden state to the same range as the action input
    ([0, 1])" by min-max over each state's features (``mode="min_max"``). The seed research
    code used tanh (``mode="tanh"``), a documented deviation.

    Args:
        hidden: `[B, ...]` hidden states.
        mode: ``"min_max"`` or ``"tanh"``.
        xp: `numpy` or `tensorflow.experimental.numpy`.
    """
    if mode == "tanh":
        return xp.tanh(hidden)
    axes = tuple(range(1, len(hidden.shape)))
    if len(axes) == 1:
        axes = axes[0]  # numpy reduces over one axis faster than over a tuple of one
    low = xp.min(hidden, axis=axes, keepdims=True)
    high = xp.max(hidden, axis=axes, keepdims=True)
    # The floor keeps a constant state finite (it maps to 0) instead of dividing by zero.
    return (hidden - low) / xp.maximum(high - low, 1e-6)
