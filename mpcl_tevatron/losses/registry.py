"""Registry of training objectives, by name.

Objectives come from two places: the ``@register_loss("name")`` decorator (this package's own, and any code
imported before training), and the ``tevatron.losses`` entry-point group, through which any installed
package contributes objectives without this one knowing it::

    # another package's pyproject.toml
    [project.entry-points."tevatron.losses"]
    my_loss = "my_package.losses:MyLoss"
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Callable, Dict, List, Type

from torch import nn

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tevatron.losses"

_REGISTRY: Dict[str, Type[nn.Module]] = {}
_entry_points_loaded = False


class UnknownLossError(KeyError):
    def __str__(self):  # KeyError quotes its message; this one is read by people
        return self.args[0]


def register_loss(name: str) -> Callable[[Type[nn.Module]], Type[nn.Module]]:
    """Class decorator: make ``cls`` available as ``get_loss(name)`` and ``--loss name``."""

    def wrap(cls: Type[nn.Module]) -> Type[nn.Module]:
        known = _REGISTRY.get(name)
        if known is not None and known is not cls:
            raise ValueError(f"loss {name!r} is already registered to {known.__module__}.{known.__qualname__}")
        _REGISTRY[name] = cls
        cls.loss_name = name
        return cls

    return wrap


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        try:
            cls = ep.load()
        except Exception as e:  # a broken third-party plugin must not take the built-in objectives down
            logger.warning("could not load loss %r from entry point %s: %s", ep.name, ep.value, e)
            continue
        register_loss(ep.name)(cls)


def available_losses() -> List[str]:
    """Names of every registered objective (built-in and from entry points), sorted."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get_loss_class(name: str) -> Type[nn.Module]:
    _load_entry_points()
    if name not in _REGISTRY:
        raise UnknownLossError(f"unknown loss {name!r}; known losses: {', '.join(available_losses())}")
    return _REGISTRY[name]


def get_loss(name: str, **hyperparameters) -> nn.Module:
    """Build the objective ``name`` with its hyperparameters (``n_passages``, ``gamma``, ``beta``, ``sigma``,
    ``temperature``); an unknown name raises with the list of known ones."""
    return get_loss_class(name)(**hyperparameters)
