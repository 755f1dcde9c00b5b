"""Build the Cython kernels (fastopt/kernels/cython/*.pyx) with OpenMP.

Each .pyx becomes an extension module of the same name; ``_common.pxd`` (inline loops),
``_simd.h`` (vectorized row primitives), ``_fused.h`` (the fused axpy-and-dot sweeps and row
prefetch of the dense loops) and ``_vecmath.h`` (vectorized exp and log1p for the per-row
logistic terms) are compiled into every module that uses them; ``_loss_codes.pxd`` (the
loss codes) is generated from ``fastopt/kernels/losses.py``, and ``_step_table.h`` (the
codes and layouts of the optimizer steps) from ``fastopt/kernels/steps.py``, and
``_batch_codes.pxd`` (the status codes of the batched solves) from
``fastopt/kernels/batch_codes.py``, before cythonize runs. ``gram.pyx`` and ``batch.pyx``
cimport BLAS (and LAPACK) from ``scipy.linalg.cython_*``, so scipy is a build
requirement. Build in place with ``python setup.py build_ext --inplace -j 2``.
"""

import glob
import os
import runpy
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "darwin":
    openmp_compile, openmp_link = ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
elif sys.platform == "win32":
    openmp_compile, openmp_link = ["/openmp"], []
else:
    openmp_compile, openmp_link = ["-fopenmp"], ["-fopenmp"]

if sys.platform == "win32":
    extra_compile = ["/O2", *openmp_compile]
else:
    # -fno-math-errno: exp/log1p need not set errno, so the compiler may inline and
    # schedule them freely; IEEE results, NaN and inf are unchanged (no -ffast-math).
    extra_compile = ["-O3", "-fno-math-errno", *openmp_compile]
# Extra flags for a local build, e.g. FASTOPT_CFLAGS="-march=native" (not portable), or
# "-DFASTOPT_NO_TARGET_CLONES" to drop the AVX2/baseline clones of _simd.h.
extra_compile += os.environ.get("FASTOPT_CFLAGS", "").split()

# The Cython loss codes, step codes and batch status codes are generated from their
# tables, never retyped. Each table is executed on its own (runpy), not imported:
# importing fastopt here would need the extensions being built. Written only when the
# text changes, so that an unchanged table does not make cythonize rebuild every module
# that uses it.
_KERNELS = os.path.join("fastopt", "kernels")
_GENERATED = [
    (os.path.join(_KERNELS, "losses.py"), "cython_constants",
     os.path.join(_KERNELS, "cython", "_loss_codes.pxd")),
    (os.path.join(_KERNELS, "steps.py"), "c_header",
     os.path.join(_KERNELS, "cython", "_step_table.h")),
    (os.path.join(_KERNELS, "batch_codes.py"), "cython_constants",
     os.path.join(_KERNELS, "cython", "_batch_codes.pxd")),
]


def write_generated() -> None:
    """Write ``_loss_codes.pxd`` from losses.py, ``_step_table.h`` from steps.py and
    ``_batch_codes.pxd`` from batch_codes.py."""
    for table, function, target in _GENERATED:
        text = runpy.run_path(table, run_name="fastopt_table")[function]()
        try:
            with open(target) as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        with open(target, "w") as f:
            f.write(text)


write_generated()

extensions = [
    Extension(
        name=path[:-4].replace(os.sep, "."),
        sources=[path],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile,
        extra_link_args=openmp_link,
        # the headers, so that a changed step or row primitive rebuilds its users
        depends=sorted(glob.glob(os.path.join(_KERNELS, "cython", "*.h"))),
    )
    for path in sorted(glob.glob(os.path.join("fastopt", "kernels", "cython", "*.pyx")))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
