# cython: language_level=3
#
# Argument unpacking of the def wrappers of linear.pyx and gram.pyx
# (cimported; every function is inline). A wrapper takes its arrays as plain objects and
# reads their dtype, shape, flags and data pointer through the NumPy C API: a few
# nanoseconds per array, against several hundred for acquiring a typed memoryview (and
# more for the dispatch of a fused-type def function), which made a call on a 200 x 10
# problem cost several times the pass itself. The checks keep the old guarantees: the
# dtype must be exact (float64 vectors; float32 or float64 data; int32 or int64 CSR
# indices; int64 rows), arrays must be C-contiguous, aligned and in native byte order,
# outputs writeable, and every array must be at least as long as the pass reads it, so a
# wrapper never reads or writes out of bounds for the shapes it receives (the values of
# CSR indices and of mini-batch rows are trusted, as everywhere in the kernels).
#
# The modules that cimport this file call cnp.import_array() at import.

cimport numpy as cnp

from ._common cimport csr_hvp_pass, csr_loss_pass, dense_hvp_pass, dense_loss_pass


cdef enum:
    # element types of X / CSR data, and of CSR indices
    F64 = 0
    F32 = 1
    I32 = 0
    I64 = 1


cdef struct Dense:
    # X (m, n) and the per-row vectors of a dense pass; w (p,), p = n or n + 1
    int dtype
    const void* X
    Py_ssize_t m
    Py_ssize_t n
    Py_ssize_t p
    const double* y
    const double* sw
    const double* w
    double* work
    Py_ssize_t ldw
    Py_ssize_t T
    int nt


cdef struct Csr:
    # canonical CSR (data, indices, indptr) of m rows and n columns
    int dtype
    int itype
    const void* data
    const void* indices
    const void* indptr
    Py_ssize_t m
    Py_ssize_t n
    Py_ssize_t p
    const double* y
    const double* sw
    const double* w
    double* work
    Py_ssize_t ldw
    Py_ssize_t T
    int nt


# --- single arrays ------------------------------------------------------------------------

cdef inline cnp.ndarray checked(object a, int ndim, str name):
    """``a`` itself, after checking it is a C-contiguous, aligned, native-order ndarray
    with ``ndim`` dimensions."""
    cdef cnp.ndarray x
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy array; got {type(a).__name__}")
    x = <cnp.ndarray> a
    if cnp.PyArray_NDIM(x) != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {(<object> x).shape}")
    if not cnp.PyArray_ISCARRAY_RO(x):
        raise ValueError(f"{name} must be C-contiguous, aligned and in native byte order")
    return x


cdef inline int real_type(cnp.ndarray x, str name) except -1:
    cdef int t = cnp.PyArray_TYPE(x)
    if t == cnp.NPY_DOUBLE:
        return F64
    if t == cnp.NPY_FLOAT:
        return F32
    raise TypeError(f"{name} must be float32 or float64; got {(<object> x).dtype}")


cdef inline int index_type(cnp.ndarray x, str name) except -1:
    if cnp.PyArray_ISINTEGER(x) and cnp.PyArray_ISSIGNED(x):
        if cnp.PyArray_ITEMSIZE(x) == 4:
            return I32
        if cnp.PyArray_ITEMSIZE(x) == 8:
            return I64
    raise TypeError(f"{name} must be int32 or int64; got {(<object> x).dtype}")


cdef inline cnp.ndarray f64_array(object a, int ndim, str name, bint out):
    cdef cnp.ndarray x = checked(a, ndim, name)
    if cnp.PyArray_TYPE(x) != cnp.NPY_DOUBLE:
        raise TypeError(f"{name} must be float64; got {(<object> x).dtype}")
    if out and not cnp.PyArray_ISWRITEABLE(x):
        raise ValueError(f"{name} must be writeable")
    return x


cdef inline const double* f64_in(object a, Py_ssize_t n, str name) except? NULL:
    """Data of a float64 vector of at least n entries."""
    cdef cnp.ndarray x = f64_array(a, 1, name, False)
    if cnp.PyArray_DIM(x, 0) < n:
        raise ValueError(f"{name} must have at least {n} entries; got {cnp.PyArray_DIM(x, 0)}")
    return <const double*> cnp.PyArray_DATA(x)


cdef inline double* f64_out(object a, Py_ssize_t n, str name) except? NULL:
    """Data of a writeable float64 vector of at least n entries."""
    cdef cnp.ndarray x = f64_array(a, 1, name, True)
    if cnp.PyArray_DIM(x, 0) < n:
        raise ValueError(f"{name} must have at least {n} entries; got {cnp.PyArray_DIM(x, 0)}")
    return <double*> cnp.PyArray_DATA(x)


cdef inline double* f64_matrix_out(object a, Py_ssize_t rows, Py_ssize_t cols,
                                   str name) except? NULL:
    """Data of a writeable float64 (rows, cols) matrix (exact shape)."""
    cdef cnp.ndarray x = f64_array(a, 2, name, True)
    if cnp.PyArray_DIM(x, 0) != rows or cnp.PyArray_DIM(x, 1) != cols:
        raise ValueError(f"{name} must have shape ({rows}, {cols}); got {(<object> x).shape}")
    return <double*> cnp.PyArray_DATA(x)


cdef inline double* work_buffer(object a, Py_ssize_t p, Py_ssize_t* T,
                                Py_ssize_t* ldw) except? NULL:
    """Data of the (T, >= p) float64 scratch ``work``; T (>= 1) and its row length out."""
    cdef cnp.ndarray x = f64_array(a, 2, "work", True)
    T[0] = cnp.PyArray_DIM(x, 0)
    ldw[0] = cnp.PyArray_DIM(x, 1)
    if T[0] < 1 or ldw[0] < p:
        raise ValueError(f"work must have shape (T >= 1, {p}); got {(<object> x).shape}")
    return <double*> cnp.PyArray_DATA(x)


cdef inline const long long* rows_in(object a, Py_ssize_t* k) except? NULL:
    """Data of the int64 row indices of a mini-batch; their count into k."""
    cdef cnp.ndarray x = checked(a, 1, "rows")
    if index_type(x, "rows") != I64:
        raise TypeError(f"rows must be int64; got {(<object> x).dtype}")
    k[0] = cnp.PyArray_DIM(x, 0)
    return <const long long*> cnp.PyArray_DATA(x)


cdef inline int check_p(Py_ssize_t p, Py_ssize_t n) except -1:
    if p != n and p != n + 1:
        raise ValueError(f"w must have n = {n} or n + 1 entries; got {p}")
    return 0


# --- the arguments of a pass --------------------------------------------------------------

cdef inline int unpack_matrix(Dense* a, object X) except -1:
    """X (m, n), float32/float64; p = n, every vector NULL (the caller sets what it uses)."""
    cdef cnp.ndarray x = checked(X, 2, "X")
    a.dtype = real_type(x, "X")
    a.X = cnp.PyArray_DATA(x)
    a.m = cnp.PyArray_DIM(x, 0)
    a.n = cnp.PyArray_DIM(x, 1)
    a.p = a.n
    a.y = NULL
    a.sw = NULL
    a.w = NULL
    a.work = NULL
    a.ldw = 0
    a.T = 1
    a.nt = 1
    return 0


cdef inline int unpack_dense(Dense* a, object X, object w) except -1:
    """X (m, n) float32/float64 and the coefficients w (p,); the other vectors NULL."""
    unpack_matrix(a, X)
    a.w = f64_in(w, 0, "w")
    a.p = cnp.PyArray_DIM(<cnp.ndarray> w, 0)
    check_p(a.p, a.n)
    return 0


cdef inline int unpack_dense_pass(Dense* a, object X, object y, object sw, object w,
                                  object work, int nt) except -1:
    """X, y (m,), sw (m,), w (p,) and work (T, p) (``work`` None: T = 1, no buffer); nt is
    fastopt's thread count (the caller reads ``fastopt._config._NUM_THREADS``), the most
    threads that share the T chunks."""
    unpack_dense(a, X, w)
    a.nt = nt
    a.y = f64_in(y, a.m, "y")
    a.sw = f64_in(sw, a.m, "sw")
    if work is not None:
        a.work = work_buffer(work, a.p, &a.T, &a.ldw)
    return 0


cdef inline int unpack_csr_matrix(Csr* a, object data, object indices, object indptr,
                                  Py_ssize_t n_features) except -1:
    """CSR (data, indices, indptr) of n_features columns; p = n, every vector NULL.

    indptr must have m + 1 >= 1 entries, of the indices' type; data and indices must hold
    at least indptr[m] entries (the rows' entries are read between indptr[i] and
    indptr[i + 1], trusted to be sorted and in range, as the objectives make them)."""
    cdef cnp.ndarray d = checked(data, 1, "data")
    cdef cnp.ndarray ind = checked(indices, 1, "indices")
    cdef cnp.ndarray ptr = checked(indptr, 1, "indptr")
    cdef Py_ssize_t nnz
    a.dtype = real_type(d, "data")
    a.itype = index_type(ptr, "indptr")
    if index_type(ind, "indices") != a.itype:
        raise TypeError(f"indices and indptr must have one dtype; got {(<object> ind).dtype} and "
                        f"{(<object> ptr).dtype}")
    if cnp.PyArray_DIM(ptr, 0) < 1:
        raise ValueError("indptr must have m + 1 >= 1 entries")
    a.m = cnp.PyArray_DIM(ptr, 0) - 1
    a.data = cnp.PyArray_DATA(d)
    a.indices = cnp.PyArray_DATA(ind)
    a.indptr = cnp.PyArray_DATA(ptr)
    if a.itype == I32:
        nnz = (<const int*> a.indptr)[a.m]
    else:
        nnz = <Py_ssize_t> (<const long long*> a.indptr)[a.m]
    if nnz > cnp.PyArray_DIM(d, 0) or nnz > cnp.PyArray_DIM(ind, 0):
        raise ValueError(f"data and indices must hold indptr[m] = {nnz} entries")
    if n_features < 0:
        raise ValueError("n_features must be >= 0")
    a.n = n_features
    a.p = n_features
    a.y = NULL
    a.sw = NULL
    a.w = NULL
    a.work = NULL
    a.ldw = 0
    a.T = 1
    a.nt = 1
    return 0


cdef inline int unpack_csr(Csr* a, object data, object indices, object indptr,
                           Py_ssize_t n_features, object w) except -1:
    """CSR as unpack_csr_matrix and the coefficients w (p,)."""
    unpack_csr_matrix(a, data, indices, indptr, n_features)
    a.w = f64_in(w, 0, "w")
    a.p = cnp.PyArray_DIM(<cnp.ndarray> w, 0)
    check_p(a.p, a.n)
    return 0


cdef inline int unpack_csr_pass(Csr* a, object data, object indices, object indptr,
                                Py_ssize_t n_features, object y, object sw, object w,
                                object work, int nt) except -1:
    """CSR, y (m,), sw (m,), w (p,), work (T, p) and nt as unpack_dense_pass."""
    unpack_csr(a, data, indices, indptr, n_features, w)
    a.nt = nt
    a.y = f64_in(y, a.m, "y")
    a.sw = f64_in(sw, a.m, "sw")
    if work is not None:
        a.work = work_buffer(work, a.p, &a.T, &a.ldw)
    return 0


# --- the passes, dispatched on the data's element types -----------------------------------

cdef inline double dense_loss(int kind, const Dense* a, double lam, const long long* rows,
                              Py_ssize_t k, double scale, double* g, double* d,
                              Py_ssize_t T) noexcept nogil:
    """dense_loss_pass over all rows (rows NULL) or over rows[:k] with weights * scale."""
    cdef bint use_rows = rows != NULL
    cdef Py_ssize_t n_rows = k if use_rows else a.m
    if a.dtype == F32:
        return dense_loss_pass(kind, <const float*> a.X, n_rows, a.n, a.y, a.sw, a.w, a.p,
                               lam, rows, use_rows, scale, g, d, a.work, a.ldw, T, a.nt)
    return dense_loss_pass(kind, <const double*> a.X, n_rows, a.n, a.y, a.sw, a.w, a.p,
                           lam, rows, use_rows, scale, g, d, a.work, a.ldw, T, a.nt)


cdef inline void dense_hvp(int kind, const Dense* a, const double* v, double lam,
                           double* out) noexcept nogil:
    if a.dtype == F32:
        dense_hvp_pass(kind, <const float*> a.X, a.m, a.n, a.y, a.sw, a.w, v, a.p, lam, out,
                       a.work, a.ldw, a.T, a.nt)
    else:
        dense_hvp_pass(kind, <const double*> a.X, a.m, a.n, a.y, a.sw, a.w, v, a.p, lam,
                       out, a.work, a.ldw, a.T, a.nt)


cdef inline double csr_loss(int kind, const Csr* a, double lam, const long long* rows,
                            Py_ssize_t k, double scale, double* g, double* d,
                            Py_ssize_t T) noexcept nogil:
    """csr_loss_pass over all rows (rows NULL) or over rows[:k] with weights * scale."""
    cdef bint use_rows = rows != NULL
    if a.dtype == F64:
        if a.itype == I32:
            return csr_loss_pass(kind, <const double*> a.data, <const int*> a.indices,
                                 <const int*> a.indptr, a.m, a.n, a.y, a.sw, a.w, a.p, lam,
                                 rows, k, use_rows, scale, g, d, a.work, a.ldw, T, a.nt)
        return csr_loss_pass(kind, <const double*> a.data, <const long long*> a.indices,
                             <const long long*> a.indptr, a.m, a.n, a.y, a.sw, a.w, a.p, lam,
                             rows, k, use_rows, scale, g, d, a.work, a.ldw, T, a.nt)
    if a.itype == I32:
        return csr_loss_pass(kind, <const float*> a.data, <const int*> a.indices,
                             <const int*> a.indptr, a.m, a.n, a.y, a.sw, a.w, a.p, lam,
                             rows, k, use_rows, scale, g, d, a.work, a.ldw, T, a.nt)
    return csr_loss_pass(kind, <const float*> a.data, <const long long*> a.indices,
                         <const long long*> a.indptr, a.m, a.n, a.y, a.sw, a.w, a.p, lam,
                         rows, k, use_rows, scale, g, d, a.work, a.ldw, T, a.nt)


cdef inline void csr_hvp(int kind, const Csr* a, const double* v, double lam,
                         double* out) noexcept nogil:
    if a.dtype == F64:
        if a.itype == I32:
            csr_hvp_pass(kind, <const double*> a.data, <const int*> a.indices,
                         <const int*> a.indptr, a.m, a.n, a.y, a.sw, a.w, v, a.p, lam, out,
                         a.work, a.ldw, a.T, a.nt)
        else:
            csr_hvp_pass(kind, <const double*> a.data, <const long long*> a.indices,
                         <const long long*> a.indptr, a.m, a.n, a.y, a.sw, a.w, v, a.p, lam,
                         out, a.work, a.ldw, a.T, a.nt)
    elif a.itype == I32:
        csr_hvp_pass(kind, <const float*> a.data, <const int*> a.indices,
                     <const int*> a.indptr, a.m, a.n, a.y, a.sw, a.w, v, a.p, lam, out,
                     a.work, a.ldw, a.T, a.nt)
    else:
        csr_hvp_pass(kind, <const float*> a.data, <const long long*> a.indices,
                     <const long long*> a.indptr, a.m, a.n, a.y, a.sw, a.w, v, a.p, lam,
                     out, a.work, a.ldw, a.T, a.nt)
