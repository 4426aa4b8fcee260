"""The paper's image observation: the last frames and the actions that led to them.

Paper, appendix E (Atari): the representation function sees the last 32 RGB frames, each
with the action that led to it as a plane of ``a / 18`` (18 actions). A game stores each frame
once, as uint8; the stack for a state is built here when the state is searched or sampled,
never stored.

Layout of a stack of `S` frames of `C` channels: `[H, W, S * (C + 1)]`, oldest frame first,
each frame's `C` channels (scaled to [0, 1]) followed by its action plane. The frame of state
`t` is the one seen after `t` moves; the action that led to it is move `t - 1`. Before the
episode's first frame there is nothing to see: those frames and their action planes are
zeros, and so is the action plane of the first frame (no action led to it). An action 0 also
reads as a plane of zeros, as in the paper's ``a / 18``; a frame of zeros marks the padding.
"""

from __future__ import annotations

import numpy as np


def stack_shape(frame_shape: tuple[int, ...], stacked: int) -> tuple[int, int, int]:
    """Return the observation shape of `stacked` frames of `frame_shape` `(H, W, C)`."""
    height, width, channels = frame_shape
    return (height, width, stacked * (channels + 1))


def stack_frames(
    frames: np.ndarray,
    led_by: np.ndarray,
    states: np.ndarray,
    stacked: int,
    num_actions: int,
) -> np.ndarray:
    """Return the observations of `states`, `[len(states), H, W, S * (C + 1)]` float32.

    Args:
        frames: `[F, H, W, C]` uint8 consecutive frames of one game.
        led_by: `[F]` the action that led to each frame, -1 for the episode's first.
        states: the frames to observe (indices into `frames`); slots before `frames[0]` are
            the padding before the episode's first frame.
        stacked: frames per observation, `S`.
        num_actions: `A`, so that an action plane holds ``a / A``.
    """
    states = np.asarray(states, dtype=np.int64)
    _, height, width, _ = frames.shape
    # [N, S]: the frame of each slot, oldest first; negative before the first frame.
    index = states[:, None] + np.arange(1 - stacked, 1)
    seen = index >= 0
    images = frames[np.maximum(index, 0)].astype(np.float32) * np.float32(1 / 255)
    images[~seen] = 0.0
    actions = np.asarray(led_by)[np.maximum(index, 0)]
    planes = np.where(seen & (actions >= 0), actions / num_actions, 0.0).astype(np.float32)
    planes = np.broadcast_to(planes[:, :, None, None, None], (*index.shape, height, width, 1))
    stack = np.concatenate([images, planes], axis=-1)  # [N, S, H, W, C + 1]
    return np.ascontiguousarray(
        stack.transpose(0, 2, 3, 1, 4).reshape(len(states), height, width, -1)
    )


def latest_stack(frames: list, actions: list, state: int, stacked: int, num_actions: int):
    """Return the `[H, W, S * (C + 1)]` observation of frame `state` of a game being played,
    reading only its last `stacked` frames: `frames` (uint8 arrays, frame `t` seen after `t`
    moves) and `actions` (the moves so far)."""
    if state < 0:
        state += len(frames)
    first = max(0, state - stacked + 1)
    led_by = [actions[t - 1] if t > 0 else -1 for t in range(first, state + 1)]
    window = np.stack(frames[first : state + 1])
    return stack_frames(window, np.array(led_by), [state - first], stacked, num_actions)[0]
