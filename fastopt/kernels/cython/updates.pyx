# cython: language_level=3
"""Fused optimizer updates, Cython (OpenMP) twin: one pass over memory, in place, no allocation.

Same names, signatures and recurrences as :mod:`fastopt.kernels.reference.updates`
(see its docstring for the math), built from the table of steps
(:mod:`fastopt.kernels.steps`). float32 arrays are updated in float32 arithmetic.

Layers:

* each step's per-call scalars and element loops, in ``_updates.h`` (C, the loops
  compiled for AVX2 + FMA and for the baseline, the CPU picks at load time: see that
  file), in a table indexed by the step's code;
* one driver, ``run_step`` in ``_updates.pxd`` (shared with the compiled loop), a fused
  inline function specialized at compile time for float32 and float64: arrays shorter
  than ``STEP_PARALLEL_MIN`` are updated on the calling thread; longer ones are split
  into chunks of ``STEP_CHUNK`` elements shared among ``fo.get_num_threads()``
  OpenMP threads (dynamic schedule: a busy core does not hold the others back). The
  updates are element-wise, so the result does not depend on the thread count;
* one thin ``def``, :func:`step_`, taking the step's code and ndarrays. A fused-type
  ``def`` with typed memoryviews costs microseconds per call (a Python-level dispatch on
  the dtypes, then one buffer acquisition per array), several times the whole update of
  a thousand parameters; here the ``def`` reads the dtype number of ``x`` and the data
  pointers (``PyArray_DATA``). Its checks are C-level tests (ndarray, dtype, 1-D,
  length, C-contiguity, writeability of what it writes): the kernel reads raw pointers,
  so a wrong array is a ``ValueError``, not a crash;
* the named kernels (``nadam_(x, m, v, g, t, lr, ...)``), generated from the table,
  each a call of :func:`step_`.
"""

cimport numpy as cnp

from ._updates cimport (
    FO_MAX_COEFS,
    FO_MAX_PARAMS,
    FO_N_STEPS,
    FO_STEP_NPARAMS,
    FO_STEP_NSTATE,
    FO_STEPS,
    STEP_CHUNK,
    STEP_PARALLEL_MIN,
    fo_step,
    run_step,
)

from fastopt._config import get_num_threads as _get_num_threads
from fastopt.kernels import steps as _steps

cnp.import_array()

__all__ = _steps.exported()

cdef inline int _threads(Py_ssize_t n) except -1:
    """Threads for an update of n elements: 1 below STEP_PARALLEL_MIN (no Python call on the
    small-array path), else fastopt's thread count (``fo.set_num_threads``), as the
    numba twin uses numba's."""
    if n < STEP_PARALLEL_MIN:
        return 1
    return min(<Py_ssize_t>_get_num_threads(), (n + STEP_CHUNK - 1) // STEP_CHUNK)


# --- argument checks (C-level, O(1)) ----------------------------------------------------

cdef inline int _dtype_of(object x) except -1:
    """NPY_FLOAT or NPY_DOUBLE for a 1-D ndarray x; TypeError otherwise."""
    cdef int typenum
    if cnp.PyArray_Check(x) and cnp.PyArray_NDIM(<cnp.ndarray>x) == 1:
        typenum = cnp.PyArray_TYPE(<cnp.ndarray>x)
        if typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_DOUBLE:
            return typenum
    raise TypeError(f"x must be a 1-D float32 or float64 ndarray, got {type(x).__name__} "
                    f"{getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}")


cdef inline bint _ok(object a, int typenum, Py_ssize_t n, bint write) noexcept:
    """a is a C-contiguous 1-D ndarray of dtype ``typenum`` (native byte order: the type
    number alone does not say) and length n, writeable when the kernel writes it."""
    cdef cnp.ndarray arr
    if not cnp.PyArray_Check(a):
        return False
    arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == typenum and cnp.PyArray_NDIM(arr) == 1
            and cnp.PyArray_DIM(arr, 0) == n and cnp.PyArray_IS_C_CONTIGUOUS(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr)
            and (not write or cnp.PyArray_ISWRITEABLE(arr)))


cdef inline int _bad(str name) except -1:
    raise ValueError(f"{name}: x, the state arrays and g must be 1-D C-contiguous ndarrays "
                     f"of one native-byte-order dtype and one length; x and the state "
                     f"writeable")


cdef inline void* _data(object a) noexcept:
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline bint _overlap(Py_ssize_t nbytes, void** ptrs, int* first, int* second,
                          bint x_is_g_ok) noexcept:
    """Whether two of the arrays at ptrs[0..4] (x, s1, s2, s3, g; each ``nbytes`` long;
    NULL: absent) overlap, and which. The kernels read and write them element by element
    in SIMD blocks, so an array passed twice (``adam_(x, x, v, g, t)``) or two overlapping
    views would give garbage, silently. ``x_is_g_ok`` (steps without state, gd_): g may
    be x itself, x <- x - lr x, exact on every backend. Ten pointer comparisons at most."""
    cdef char* p[5]
    cdef int i, j
    for i in range(5):
        p[i] = <char*>ptrs[i]
    for i in range(5):
        for j in range(i + 1, 5):
            if (p[i] != NULL and p[j] != NULL and p[i] < p[j] + nbytes
                    and p[j] < p[i] + nbytes and not (x_is_g_ok and p[j] == p[0])):
                first[0], second[0] = i, j
                return True
    return False


# --- the one def ------------------------------------------------------------------------

def step_(int code, x, tuple state, g, double t, double lr, tuple params, double carry):
    """The fused update of the step with this code (:mod:`fastopt.kernels.steps`), in place.

    ``state``: the step's state arrays, in its order; ``t``: the step number (from 1);
    ``params``: its hyper-parameters, in its order; ``carry``: its running scalar.
    Returns the next carry.
    """
    cdef double pv[FO_MAX_PARAMS]
    cdef double c[FO_MAX_COEFS]
    cdef void* ptrs[5]
    cdef int i, j, ns
    if code < 0 or code >= FO_N_STEPS or FO_STEPS[code].coefs == NULL:
        raise ValueError(f"no Cython kernel for step code {code}")
    ns = FO_STEP_NSTATE[code]
    if len(state) != ns or len(params) != FO_STEP_NPARAMS[code]:
        raise ValueError(f"{_steps.STEPS[code].kernel}: takes {ns} state arrays and "
                         f"{FO_STEP_NPARAMS[code]} hyper-parameters")
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(g, typ, n, False)):
        _bad(_steps.STEPS[code].kernel)
    ptrs[0] = _data(x)
    ptrs[1] = ptrs[2] = ptrs[3] = NULL
    ptrs[4] = _data(g)
    for i in range(ns):
        if not _ok(state[i], typ, n, True):
            _bad(_steps.STEPS[code].kernel)
        ptrs[1 + i] = _data(state[i])
    for i in range(FO_STEP_NPARAMS[code]):
        pv[i] = params[i]
    if _overlap(n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x), ptrs, &i, &j, ns == 0):
        step = _steps.STEPS[code]
        names = ("x", *step.state, *[""] * (3 - ns), "g")
        raise ValueError(f"{step.kernel}: {names[i]} and {names[j]} overlap in memory; "
                         f"each must be a separate array")
    cdef const fo_step* st = &FO_STEPS[code]
    with nogil:
        st.coefs(t, lr, pv, &carry, c)
        if typ == cnp.NPY_FLOAT:
            run_step(st, <float*>ptrs[0], <float*>ptrs[1], <float*>ptrs[2], <float*>ptrs[3],
                     <const float*>ptrs[4], c, n, nt)
        else:
            run_step(st, <double*>ptrs[0], <double*>ptrs[1], <double*>ptrs[2],
                     <double*>ptrs[3], <const double*>ptrs[4], c, n, nt)
    return carry


# The named kernels (gd_, heavy_ball_, ..., adam_, adamw_), each a call of step_.
globals().update(_steps.make_kernels(__name__, lambda step: step_))
