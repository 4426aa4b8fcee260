"""Networks: the inference interface, the trainable base, architectures and transforms."""

from networks.fully_connected import FullyConnectedNetwork
from networks.network import BaseNetwork, Network, NetworkOutput
from networks.shared_storage import SharedStorage

__all__ = ["BaseNetwork", "FullyConnectedNetwork", "Network", "NetworkOutput", "SharedStorage"]
