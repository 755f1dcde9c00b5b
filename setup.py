"""Build the Cython kernels (fastopt/kernels/cython/*.pyx) with OpenMP."""

import glob
import os
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

extra_compile = ["-O3", *openmp_compile] if sys.platform != "win32" else ["/O2", *openmp_compile]

extensions = [
    Extension(
        name=path[:-4].replace(os.sep, "."),
        sources=[path],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile,
        extra_link_args=openmp_link,
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
