"""Objectives: validated data plus a backend's kernels behind the Objective protocol.

Every class here is an :class:`Objective` (docs/contract.md): ``value``, ``grad``,
``loss_grad``, ``hvp``, ``hessian``, ``lipschitz``, ``strong_convexity`` and the
evaluation counters.

=========================== ==========================================================
:class:`Logistic`           L2 logistic regression, dense or sparse, weights, intercept
:class:`Multinomial`        L2 softmax regression over K classes (scikit-learn's multinomial)
:class:`LeastSquares`       ridge least squares, dense or sparse, weights, intercept
:class:`Poisson`            L2 Poisson regression (log link) for counts, dense or sparse
:class:`PiecewiseQuadratic` the 1-D function with mu = 1, L = 25 (Lessard et al. 2016)
:class:`Function`           user callables, finite differences for what is missing
=========================== ==========================================================

The linear models hold their data as one value, :class:`LinearData` (validated X, y,
normalized sample weights and the backend reading them; :class:`DeviceLinearData` is its
GPU variant).
"""

from .base import Objective as Objective
from .function import Function as Function
from .least_squares import LeastSquares as LeastSquares
from .linear_data import DeviceLinearData as DeviceLinearData
from .linear_data import LinearData as LinearData
from .linear_objective import LinearObjective as LinearObjective
from .logistic import Logistic as Logistic
from .multinomial import Multinomial as Multinomial
from .piecewise_quadratic import PiecewiseQuadratic as PiecewiseQuadratic
from .poisson import Poisson as Poisson
from .softmax_relu import SoftmaxReLU as SoftmaxReLU

# Adding an objective is one import line above (``from .x import X as X``: the redundant
# alias marks a re-export for ruff); every Objective class imported here is exported.
__all__ = sorted(
    name for name, obj in list(globals().items())
    if isinstance(obj, type) and issubclass(obj, Objective)
)
