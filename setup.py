"""Build and install the libplacement Python extension and plugins.

The extension module ``libplacement`` (sources pybind/*.c) is linked against
the static C library by default, so it works without installing
libplacement.so.  The Makefile passes the library's path; by hand::

    make                                  # builds build/libplacement.a
    LP_LIB_A=build/libplacement.a python3 setup.py build_ext --build-lib build/python

Distributions link it against the shared library instead (LP_LIB_SO), so that
the module uses the installed libplacement.so.1 and gets its fixes with it
(the Debian packages do: debian/rules).

Environment:
    LP_LIB_A          static library to link (default build/libplacement.a)
    LP_LIB_SO         link this shared library (e.g. build/libplacement.so)
                      instead of LP_LIB_A; the module then needs its SONAME,
                      libplacement.so.1, at run time
    LP_EXTRA_CFLAGS   extra compiler flags (e.g. sanitizers), space-separated
    LP_EXTRA_LDFLAGS  extra linker flags
"""

import glob
import os
import shlex
import subprocess

from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
WARNINGS = ['-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wstrict-prototypes',
            '-Wmissing-prototypes', '-Wformat=2', '-Wvla', '-Wpointer-arith']


def _pkg_config(*args):
    """Flags from pkg-config for the C library's dependencies."""
    out = subprocess.run(['pkg-config'] + list(args) + ['json-c', 'libcurl'],
                         check=True, capture_output=True, text=True).stdout
    return shlex.split(out)


def _env_flags(name):
    return shlex.split(os.environ.get(name, ''))


def _read(path):
    with open(os.path.join(HERE, path)) as f:
        return f.read()


def _link_args():
    """The C library to link, and the linker flags that go with it."""
    lib_so = os.environ.get('LP_LIB_SO')
    if lib_so:
        # The shared library brings its own dependencies (json-c, libcurl).
        return [lib_so], []
    lib_a = os.environ.get('LP_LIB_A', os.path.join('build', 'libplacement.a'))
    # Keep the library's symbols private to the module too.
    return [lib_a], (['-Wl,--exclude-libs,ALL'] + _pkg_config('--libs') +
                     ['-lm', '-lpthread'])


def _extension():
    objects, link_args = _link_args()
    return Extension(
        'libplacement',
        sources=sorted(glob.glob('pybind/*.c')),
        depends=sorted(glob.glob('pybind/*.h') + glob.glob('libplacement/include/**/*.h',
                                                           recursive=True)),
        include_dirs=['libplacement/include', 'pybind'],
        # Hidden: only PyInit_libplacement is exported.
        extra_compile_args=(['-std=c11', '-fvisibility=hidden'] + WARNINGS +
                            _env_flags('LP_EXTRA_CFLAGS')),
        extra_objects=objects,
        extra_link_args=link_args + _env_flags('LP_EXTRA_LDFLAGS'),
    )


setup(
    # name: setup.cfg (devstack reads it there)
    version='1.0.0',
    description='Parallelism-aware placement and runtime choice for OpenStack',
    long_description=_read('docs/python.md'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    ext_modules=[_extension()],
    packages=find_packages(include=['libplacement_oslo', 'libplacement_oslo.*',
                                    'libplacement_watcher',
                                    'libplacement_watcher.*',
                                    'nova_filter', 'nova_filter.*',
                                    'zun_driver', 'zun_driver.*']),
    entry_points={
        'oslo.config.opts': [
            'libplacement.nova = nova_filter.opts:list_opts',
            'libplacement.zun = zun_driver.opts:list_opts',
            'libplacement.watcher = libplacement_watcher.opts:list_opts',
        ],
        'nova.api.extra_spec_validators': [
            'libplacement = nova_filter.extra_specs',
        ],
        'zun.container.driver': [
            'libplacement.docker = zun_driver.driver:LibplacementDockerDriver',
        ],
        'watcher_goals': [
            'parallelism_cap = libplacement_watcher.goal:ParallelismCap',
        ],
        'watcher_strategies': [
            'libplacement_rebalance = '
            'libplacement_watcher.strategy:LibplacementRebalance',
        ],
        'watcher_actions': [
            'libplacement_runtime_switch = '
            'libplacement_watcher.actions:RuntimeSwitch',
        ],
    },
)
