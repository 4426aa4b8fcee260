"""The built-in network factories: a config's `network_factory` builds its network from it.

A factory takes the config and returns a `BaseNetwork`; `ARCHITECTURE_FIELDS` names the
config fields each built-in factory reads that the others do not, so that a field the
game's network never reads can be refused (`MuZeroConfig.unused_fields`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from networks.fully_connected import FullyConnectedNetwork
from networks.network import BaseNetwork, NetworkSettings
from networks.residual import ResidualNetwork

if TYPE_CHECKING:  # config imports this module: a type only, not a cycle at run time
    from config import MuZeroConfig


def make_fully_connected_network(config: MuZeroConfig) -> FullyConnectedNetwork:
    """Build the fully connected network a config describes."""
    return FullyConnectedNetwork(
        NetworkSettings.from_config(config),
        hidden_state_size=config.hidden_state_size,
        hidden_layers=config.hidden_layers,
    )


def _residual_sizes(config: MuZeroConfig) -> dict[str, Any]:
    """Return the tower and head sizes a residual network takes from a config."""
    return dict(
        channels=config.residual_channels,
        blocks=config.residual_blocks,
        head_units=config.residual_head_units,
        prediction_blocks=config.residual_prediction_blocks,
    )


def make_residual_network(config: MuZeroConfig) -> ResidualNetwork:
    """Build the residual network a config describes (board observations)."""
    return ResidualNetwork(NetworkSettings.from_config(config), **_residual_sizes(config))


def make_image_network(config: MuZeroConfig) -> ResidualNetwork:
    """Build the residual network of an image game: one plane per action for the dynamics
    (the paper's tiled one-hot action) and, with `downsample`, the Atari downsampling."""
    return ResidualNetwork(
        NetworkSettings.from_config(config),
        **_residual_sizes(config),
        action_planes="one_hot",
        downsample=config.downsample,
        downsample_blocks=config.downsample_blocks,
    )


_RESIDUAL_FIELDS = (
    "residual_channels",
    "residual_blocks",
    "residual_head_units",
    "residual_prediction_blocks",
)

#: The fields only one built-in architecture reads (see `MuZeroConfig.unused_fields`).
ARCHITECTURE_FIELDS: dict[Callable[[MuZeroConfig], BaseNetwork], tuple[str, ...]] = {
    make_fully_connected_network: ("hidden_state_size", "hidden_layers"),
    make_residual_network: _RESIDUAL_FIELDS,
    make_image_network: (*_RESIDUAL_FIELDS, "downsample", "downsample_blocks"),
}
