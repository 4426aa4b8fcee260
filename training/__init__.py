"""Training: the replay buffer, the losses and the update step of the pseudocode."""

from training.replay_buffer import Batch, ReplayBuffer
from training.train import (
    LOSS_NAMES,
    Trainer,
    compute_losses,
    make_optimizer,
    scale_gradient,
    train_network,
)

__all__ = [
    "LOSS_NAMES",
    "Batch",
    "ReplayBuffer",
    "Trainer",
    "compute_losses",
    "make_optimizer",
    "scale_gradient",
    "train_network",
]
