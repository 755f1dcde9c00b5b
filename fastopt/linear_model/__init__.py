"""scikit-learn compatible estimators on fastopt's objectives and solvers.

:class:`PoissonRegressor` minimizes the objective of
``sklearn.linear_model.PoissonRegressor`` (same ``alpha``, same coefficients to the
solvers' tolerance). :class:`LogisticRegression` is a drop-in replacement for
``sklearn.linear_model.LogisticRegression`` with an L2 penalty: same ``C``, same
objective, same coefficients (to the solvers' tolerance), fitted by fastopt's compiled
kernels and second-order solvers. It passes scikit-learn's estimator checks
(``sklearn.utils.estimator_checks``).
"""

from __future__ import annotations

# The solver choice and the label encoding need no scikit-learn: they live apart so that
# the command line uses them without importing it; re-exported here (their old home).
from .._solver_choice import (  # noqa: F401
    AUTO_NEWTON_MAX_GRAM_RATIO,
    AUTO_NEWTON_MAX_PARAMS,
    auto_solver,
    gram_work_ratio,
)
from .._solver_choice import encode_labels as _encode_labels  # noqa: F401
from ._logistic import LogisticRegression
from ._logistic_cv import LogisticRegressionCV
from ._poisson import PoissonRegressor

__all__ = ["LogisticRegression", "LogisticRegressionCV", "PoissonRegressor", "auto_solver"]
