"""Networks: the inference interface, the trainable base, architectures and transforms."""

# First: TensorFlow is imported here without its C++ start-up lines (see quiet_import).
import networks.quiet_import  # noqa: F401  isort: skip
from networks.fully_connected import FullyConnectedNetwork
from networks.network import BaseNetwork, Network, NetworkOutput, NetworkSettings
from networks.shared_storage import SharedStorage

__all__ = [
    "BaseNetwork",
    "FullyConnectedNetwork",
    "Network",
    "NetworkOutput",
    "NetworkSettings",
    "SharedStorage",
]
