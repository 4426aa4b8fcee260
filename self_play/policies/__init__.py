"""Search policies, the members of the MuZero family the search seam runs, by name.

A policy is a `SearchPolicy` subclass (one module in this folder) plus one entry in
`SEARCH_POLICIES`; the config field `search_policy` names the one a run uses
(``--set search_policy=NAME``). Code outside the package adds its own with
`register_search_policy`.
"""

from __future__ import annotations

from typing import Any

from self_play.policies.base import SearchPolicy
from self_play.policies.gumbel import GumbelPolicy
from self_play.policies.muzero import MuZeroPolicy

#: Every search policy by the name `config.search_policy` gives it.
SEARCH_POLICIES: dict[str, type[SearchPolicy]] = {
    "muzero": MuZeroPolicy,
    "gumbel": GumbelPolicy,
}


def register_search_policy(name: str, policy: type[SearchPolicy]) -> None:
    """Add `policy` to `SEARCH_POLICIES` as `name` (a config may then name it)."""
    if not (isinstance(policy, type) and issubclass(policy, SearchPolicy)):
        raise TypeError(f"a search policy must be a SearchPolicy subclass, got {policy!r}")
    SEARCH_POLICIES[name] = policy


def make_search_policy(config: Any) -> SearchPolicy:
    """Return the policy `config.search_policy` names, made for one search."""
    return SEARCH_POLICIES[config.search_policy](config)


__all__ = ["SEARCH_POLICIES", "GumbelPolicy", "MuZeroPolicy", "SearchPolicy", "make_search_policy",
           "register_search_policy"]  # fmt: skip
