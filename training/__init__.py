"""Training: the replay buffer, its targets, Reanalyze, the losses and the update step.

Modules: `replay_buffer` (`ReplayBuffer`: the games and their priorities), `targets`
(`make_target`, vectorised over a batch), `reanalyse` (`Reanalyser`: the target network and
the fresh search), `train` (the losses, `Trainer`, `train_network`), `checkpoint`, and the
run folder's files: `metrics` (`RunLog`: CSV and TensorBoard), `plots` (the learning curve,
``python -m training.plots RUN_DIR``) and `run_files` (`run.json`, the weights).
"""

from training.reanalyse import Reanalyser
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
    "Reanalyser",
    "ReplayBuffer",
    "Trainer",
    "compute_losses",
    "make_optimizer",
    "scale_gradient",
    "train_network",
]
