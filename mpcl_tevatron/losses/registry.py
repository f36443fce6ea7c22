"""Registry of training objectives, by name.

Objectives come from two places: the ``@register_loss("name")`` decorator (this package's own, and any code
imported before training), and the ``tevatron.losses`` entry-point group, through which any installed
package contributes objectives without this one knowing it::

    # another package's pyproject.toml
    [project.entry-points."tevatron.losses"]
    my_loss = "my_package.losses:MyLoss"
"""

from __future__ import annotations

import inspect
import logging
import math
from importlib.metadata import entry_points
from typing import Callable, Dict, List, Optional, Set, Type

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
    """The class registered as ``name`` (entry points loaded first); an unknown name raises ``UnknownLossError``
    listing the known ones."""
    _load_entry_points()
    if name not in _REGISTRY:
        raise UnknownLossError(f"unknown loss {name!r}; known losses: {', '.join(available_losses())}")
    return _REGISTRY[name]


def accepted_hyperparameters(cls: Type[nn.Module]) -> Optional[Set[str]]:
    """The keyword arguments ``cls``'s constructor declares, or None when it takes any (``**kwargs``)."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def undeclared(cls: Type[nn.Module], keys) -> List[str]:
    """The ``keys`` that ``cls``'s constructor does not declare, sorted (none when it takes ``**kwargs``)."""
    accepted = accepted_hyperparameters(cls)
    return [] if accepted is None else sorted(set(keys) - accepted)


def unaccepted_kwargs(name: str, kwargs: Dict) -> Optional[str]:
    """An error message when objective ``name`` declares none of some of ``kwargs`` (``--loss_kwargs``), else
    None: unlike the named flags, a key given for one objective must be one it takes."""
    cls = get_loss_class(name)
    unknown = undeclared(cls, kwargs)
    if unknown:
        accepted = accepted_hyperparameters(cls)
        return (f"--loss_kwargs: {name} takes no {', '.join(unknown)}; it accepts "
                f"{', '.join(sorted(accepted - {'n_passages'})) or 'nothing but n_passages'}")
    problem = wrong_kind(cls, kwargs)
    return f"--loss_kwargs: {problem}" if problem else None


def wrong_kind(cls: Type[nn.Module], kwargs: Dict) -> Optional[str]:
    """An error message for the first of ``kwargs`` whose value is not of the kind of its constructor default
    (a number where the default is a number: finite, and not a bool; a bool for a bool; text for text), else
    None: ``{"gamma": "high"}`` would otherwise fail mid-step as a TypeError, and NaN would train NaN."""
    defaults = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
                if p.default is not p.empty and p.default is not None}
    for key, value in kwargs.items():
        default = defaults.get(key)
        if isinstance(default, bool):
            ok, kind = isinstance(value, bool), "true or false"
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            kind = "a finite number"
        elif isinstance(default, str):
            ok, kind = isinstance(value, str), "text"
        else:
            continue
        if not ok:
            return f"{key} must be {kind}, got {value!r}"
    return None


#: The plugin's named hyperparameters (``--gamma``, ``--beta``, ``--sigma``, ``--teacher_temperature``,
#: ``--multi_positive_form``): any may be given with any objective, which takes those it declares.
SHARED_HYPERPARAMETERS = frozenset({"gamma", "beta", "sigma", "temperature", "form"})


def get_loss(name: str, n_passages: int = 8, **hyperparameters) -> nn.Module:
    """Build the objective ``name`` as ``cls(n_passages=..., **kwargs)``, the upstream registry's contract.
    Of the shared hyperparameters (``SHARED_HYPERPARAMETERS``) it gets only those its constructor declares, so
    the plugin's named flags work with any objective; any other key goes through as given, so a misspelt one
    fails instead of being ignored. An unknown name raises with the list of known ones."""
    cls = get_loss_class(name)
    accepted = accepted_hyperparameters(cls)
    kept = {k: v for k, v in hyperparameters.items()
            if accepted is None or k in accepted or k not in SHARED_HYPERPARAMETERS}
    unknown = undeclared(cls, kept)
    if unknown:
        raise TypeError(f"loss {name!r} takes no {', '.join(unknown)}; it accepts "
                        f"{', '.join(sorted(accepted))}")
    problem = wrong_kind(cls, kept)  # NaN would train NaN; text would fail mid-step
    if problem:
        raise ValueError(f"loss {name!r}: {problem}")
    return cls(n_passages=n_passages, **kept)
