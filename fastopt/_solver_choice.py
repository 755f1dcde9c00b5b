"""How a logistic fit picks its solver and encodes its labels (private; no scikit-learn).

These are the parts of :class:`fastopt.LogisticRegression`'s fit that do not need
scikit-learn, kept apart from :mod:`fastopt.linear_model` (whose estimator class derives
from scikit-learn's, whose import costs most of a second) so that the ``fastopt fit``
command answers as quickly as the fit itself. :mod:`fastopt.linear_model` re-exports them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["AUTO_NEWTON_MAX_GRAM_RATIO", "AUTO_NEWTON_MAX_PARAMS", "DENSE_GRAM_SPEEDUP",
           "auto_solver", "dense_copy_pays", "dense_gram_is_cheaper", "encode_labels",
           "gram_work_ratio"]

#: Below this many parameters, "auto" may use Newton with a Cholesky solve of the exact
#: Hessian (forming it costs one blocked pass over X and p^2/2 per row of X's nonzeros,
#: solving it p^3/3); above it, Newton-CG (Hessian-vector products only).
AUTO_NEWTON_MAX_PARAMS = 400

#: For sparse X, "auto" uses Newton only while assembling the Hessian costs at most this
#: many multiply-adds per stored nonzero of X: sum_i nnz_i^2 / 2 <= 12 nnz (see
#: :func:`gram_work_ratio`). The bundled sets have 6.5 (ijcnn1) to 11.3 (w8a); a random
#: CSR matrix with 30 nonzeros per row (ratio 15.4, m = 20,000, n = 300) is already fitted
#: faster by Newton-CG than by Newton (tol 1e-4, one thread), one with 100 per row
#: (ratio 50) several times faster.
AUTO_NEWTON_MAX_GRAM_RATIO = 12.0


def gram_work_ratio(X) -> float | None:
    """Multiply-adds of the CSR Hessian assembly per stored nonzero: sum_i nnz_i^2 / (2 nnz).

    The exact Hessian X~^T diag(d) X~ of a CSR matrix is a sum of per-row sparse outer
    products, nnz_i^2 / 2 multiply-adds for a row with nnz_i nonzeros, while a pass for
    f and grad f (or a Hessian-vector product) costs about nnz. The ratio is the cost of
    forming the Hessian in units of that pass's nonzeros (about half the mean row length
    when rows are alike). None for dense X, whose Hessian is a BLAS ``syrk``.
    """
    if not sp.issparse(X):
        return None
    nnz = int(X.indptr[-1] - X.indptr[0])
    if nnz == 0:
        return 0.0
    # Integer arithmetic on purpose: a float64 dot of m entries goes to OpenBLAS, whose
    # threads then spin for a while after the call and take the cores from the solver's
    # first kernels (a small fit such as a9a's then takes up to twice as long).
    row_nnz = np.diff(X.indptr).astype(np.int64)
    return float(np.dot(row_nnz, row_nnz)) / (2.0 * nnz)


#: How many times faster BLAS ``dsyrk`` adds a dense multiply-add to a Hessian than the
#: CSR assembly adds one of a row's pairs of nonzeros (a scattered load-add-store).
#: Measured on the bundled sets: a dense ijcnn1 (22 columns, 13 nonzeros per row) forms
#: its Hessian about 3x faster than the CSR one, a dense a9a (123 columns, 14 per row)
#: about 6x slower.
DENSE_GRAM_SPEEDUP = 8.0


def dense_gram_is_cheaper(X) -> bool:
    """Whether forming the Hessian of sparse X costs less with X made dense:
    m p^2 / 2 BLAS multiply-adds against sum_i nnz_i^2 / 2 scattered ones, the latter
    :data:`DENSE_GRAM_SPEEDUP` times slower each. False for dense X."""
    if not sp.issparse(X):
        return False
    m, n = X.shape
    row_nnz = np.diff(X.indptr).astype(np.int64)
    return DENSE_GRAM_SPEEDUP * float(np.dot(row_nnz, row_nnz)) > m * float(n + 1) ** 2


def dense_copy_pays(X) -> bool:
    """Whether a solve that forms Hessians of sparse X should work on a dense copy: the
    dense Hessian is cheaper (:func:`dense_gram_is_cheaper`) and the copy takes at most
    an eighth of the memory available."""
    from ._memory import available_bytes

    return (dense_gram_is_cheaper(X)
            and 8.0 * X.shape[0] * X.shape[1] <= available_bytes() / 8)


def auto_solver(n_params: int, n_classes: int, gram_ratio: float | None = None) -> str:
    """The method ``solver="auto"`` picks.

    * binary, p <= :data:`AUTO_NEWTON_MAX_PARAMS` and, for sparse X, a Hessian assembly of
      at most :data:`AUTO_NEWTON_MAX_GRAM_RATIO` multiply-adds per nonzero (``gram_ratio``,
      :func:`gram_work_ratio`; None for dense X): ``"newton"`` (exact Hessian, Cholesky).
      Each iteration is one pass for f, grad and the Hessian weights, one blocked pass to
      form X~^T diag(d) X~ and a p^3/3 Cholesky, and 6 to 8 iterations reach tol 1e-4 on
      the bundled sets, where L-BFGS needs 24 to 86 and Newton-CG 7 to 14 iterations of
      4 to 6 passes each. At tol 1e-4 on one thread Newton is the fastest of the three
      on a9a, ijcnn1 and w8a and level with L-BFGS on mushrooms (all four sets are
      sparse, with ratios 7.0 / 6.5 / 10.5 / 11.3, and fall here);
    * every other fit (more parameters, a denser sparse X, multinomial): ``"newton-cg"``,
      whose Hessian-vector products are one pass over X each and never form the p x p
      matrix (the multinomial products reuse the probabilities of the gradient pass).
    """
    if (n_classes == 2 and n_params <= AUTO_NEWTON_MAX_PARAMS
            and (gram_ratio is None or gram_ratio <= AUTO_NEWTON_MAX_GRAM_RATIO)):
        return "newton"
    return "newton-cg"


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(y, return_inverse=True)``, in O(m) for two numeric classes.

    Sorting the labels is most of the fixed cost of a fit on a few 10^4 rows (w8a's
    50,000 float labels, for instance); two numeric classes are found from the min and max.
    """
    from .problems._validation import split_two_numeric_classes

    split = split_two_numeric_classes(y)
    if split is not None:
        classes, upper = split
        return classes, upper.view(np.int8).astype(np.intp)
    return np.unique(y, return_inverse=True)
