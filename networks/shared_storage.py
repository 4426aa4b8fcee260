"""Pseudocode: `SharedStorage`, the store of networks that self-play reads from."""

from __future__ import annotations

from collections.abc import Callable

from networks.network import Network


class SharedStorage:
    """Networks by training step: the learner saves its network here (`train_network`), and
    self-play takes the latest one from here (`run_selfplay`).

    In one process the stored network is the training network itself (as in the pseudocode,
    where the store hands out references), so no weights are copied; with Ray actors,
    `run_selfplay` hands the latest network to the actors' pool, which publishes its weights
    to them (`SelfPlayActors.play`).

    Args:
        make_uniform_network: builds the network used before any is saved.
    """

    def __init__(self, make_uniform_network: Callable[[], Network]):
        self._networks: dict[int, Network] = {}
        self._make_uniform_network = make_uniform_network

    def latest_network(self) -> Network:
        """Return the network saved last (a new one before any is saved)."""
        if not self._networks:
            self._networks[0] = self._make_uniform_network()
        return self._networks[max(self._networks)]

    def save_network(self, step: int, network: Network) -> None:
        """Store `network` as the result of `step` training steps."""
        self._networks[step] = network
