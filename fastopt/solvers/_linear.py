"""Helpers that second-order solvers share for linear-model objectives.

The Hessian pieces themselves are methods of the objective (``weighted_gram``,
``hessian_diagonal``, ``dloss_from_predictor`` of
:class:`~fastopt.problems.linear_objective.LinearObjective`), which count their passes.
"""

from __future__ import annotations

from .line_search import make_line

__all__ = ["line_for"]


def line_for(objective, x, d, z=None, fused=False):
    """The line phi(t) = f(x + t d): O(m) per trial from the predictor for a linear model
    (``z`` = X x given), one evaluation per trial otherwise."""
    return make_line(objective, x, d, z, fused=fused)
