"""Branch-free ``exp`` and ``log1p`` that LLVM vectorizes (private to the numba kernels).

Numba calls the scalar libm ``exp`` and ``log1p`` (its pip-installed llvmlite has no vector
math library), tens of nanoseconds per row for the pair: after the memory pass
itself, that was the largest cost of a dense logistic loss+gradient. The functions here
are polynomials and bit operations only, inlined into elementwise loops over a block of
rows (:func:`logistic_terms`, :func:`logistic_curvature`) that LLVM turns into AVX2 code,
a few nanoseconds per row for ``exp``, ``log1p``, a division and the sigmoid.

Accuracy, checked against NumPy on about 45,000 values including subnormal results, +-inf
and NaN (``tests/kernels/test_vecmath.py``): within 1e-15 relative for normal results.

* :func:`exp_nonpositive` (x <= 0): Cody-Waite reduction ``x = k ln2 + r``, ``|r| <=
  ln2 / 2``, degree-13 Taylor polynomial for ``exp(r)`` (truncation < 5e-18), and
  ``2^k`` built from exponent bits in two factors so that results down to the smallest
  subnormal are right; below -745.2 the result is 0, as libm's; NaN propagates.
* :func:`log1p_unit` (0 <= e <= 1): ``log1p(e) = 2 atanh(s)`` with ``s = e / (2 + e)``
  (no cancellation, so tiny ``e`` keeps full relative precision) and ``s <= 1/3``, so
  the odd series ``2 s sum_k s^(2k) / (2k + 1)`` reaches 1e-16 after 16 terms.

These functions run with fastmath *without* ``reassoc``: reassociation would fold
``(x log2e + 1.5 2^52) - 1.5 2^52`` back to ``x log2e`` (no rounding to an integer at
all) and the two-constant Cody-Waite reduction into one constant. They are separate
numba functions, not ``inline="always"``: numba's own inlining would lower their code
with the *caller's* fastmath flags (a caller with ``reassoc`` then gets wrong results,
which we saw), while LLVM's inlining, which happens anyway for functions this small,
keeps each instruction's own flags, and the loops still vectorize.
``error_model="numpy"`` (set by :func:`fastopt._config.jit`) keeps division free of
Python's zero-division check, which would block vectorization.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from fastopt._config import jit

#: fastmath flags of this module: those of :data:`fastopt._config.FASTMATH` but ``reassoc``.
FASTMATH_ORDERED = frozenset({"nsz", "arcp", "contract", "afn"})

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # high bits of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
#: 1.5 * 2^52: adding it rounds a double in [-2^51, 2^51] to an integer held in the low
#: mantissa bits, so the integer is read from the bits without a float->int conversion.
_SHIFT = 6755399441055744.0
_SHIFT_BITS = 0x4338000000000000
#: exp(x) for x below this is under half the smallest subnormal: 0.
_EXP_UNDERFLOW = -745.2


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (an LLVM ``bitcast``)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_float64(typingctx, x):
    """The IEEE bits of the float64 ``x`` as an int64 (an LLVM ``bitcast``)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@jit(fastmath=set(FASTMATH_ORDERED))
def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (or NaN), branch-free; see the module docstring."""
    xc = -746.0 if x < -746.0 else x  # NaN stays NaN (the comparison is false)
    kd = xc * _LOG2E + _SHIFT
    k = _bits_of_float64(kd) - _SHIFT_BITS  # round(x / ln 2), in [-1076, 0]
    kf = kd - _SHIFT
    r = (xc - kf * _LN2_HI) - kf * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^k as 2^k1 * 2^k2 with both factors normal: k alone may be below -1022
    k1 = k >> 1
    k2 = k - k1
    e = p * _float64_from_bits((k1 + 1023) << 52) * _float64_from_bits((k2 + 1023) << 52)
    return 0.0 if x < _EXP_UNDERFLOW else e


@jit(fastmath=set(FASTMATH_ORDERED))
def log1p_unit(e):
    """``log(1 + e)`` for ``0 <= e <= 1`` (or NaN), branch-free; see the module docstring."""
    s = e / (2.0 + e)
    s2 = s * s
    p = 1.0 / 31.0
    p = p * s2 + 1.0 / 29.0
    p = p * s2 + 1.0 / 27.0
    p = p * s2 + 1.0 / 25.0
    p = p * s2 + 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return 2.0 * s * p


@jit(fastmath=set(FASTMATH_ORDERED))
def logistic_terms(t, nb, loss, slope, curvature):
    """Per-row logistic terms of a block, for margins ``t[:nb]`` (``t = y z``).

    With ``e = exp(-|t|)`` (never overflows) and ``q = 1 / (1 + e)``:

    * ``loss[k] = log(1 + exp(-t)) = log1p(e) + max(-t, 0)``;
    * ``slope[k] = sigma(-t)``: ``e q`` for ``t > 0``, ``q`` otherwise;
    * ``curvature[k] = sigma(t) sigma(-t) = e q^2``.

    All arrays have at least ``nb`` entries; one vectorized loop, no branches.
    """
    for k in range(nb):
        tk = t[k]
        e = exp_nonpositive(-abs(tk))
        q = 1.0 / (1.0 + e)
        loss[k] = log1p_unit(e) + max(-tk, 0.0)
        slope[k] = e * q if tk > 0.0 else q
        curvature[k] = e * q * q


@jit(fastmath=set(FASTMATH_ORDERED))
def logistic_curvature(z, nb, curvature):
    """``curvature[k] = sigma(z_k) (1 - sigma(z_k)) = e / (1 + e)^2``, ``e = exp(-|z_k|)``."""
    for k in range(nb):
        e = exp_nonpositive(-abs(z[k]))
        q = 1.0 / (1.0 + e)
        curvature[k] = e * q * q
