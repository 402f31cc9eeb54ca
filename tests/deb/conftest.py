"""Tests of the installed Debian packages (docs/packaging.md).

They run in two ways:

- ``make check-deb`` unpacks the .deb files into a throw-away root and sets
  LP_DEB_ROOT to it, PYTHONPATH and LD_LIBRARY_PATH to its directories; the
  control files of package P (postinst, conffiles, ...) and its file list
  (``files``) are in $LP_DEB_ROOT/DEBIAN/P.
- autopkgtest (debian/tests/control) runs them against the installed
  packages: LP_DEB_ROOT unset, files under /, control files from dpkg.

Either way the programs run are Debian's /usr/bin/python3 with Nova, Watcher
and oslo.config from Debian, and the packaged agent, lpctl and library.
"""

import os
import subprocess
import sys
import sysconfig

import pytest

ROOT = os.environ.get('LP_DEB_ROOT', '')
HERE = os.path.dirname(os.path.abspath(__file__))
MULTIARCH = sysconfig.get_config_var('MULTIARCH')
DIST_PACKAGES = '/usr/lib/python3/dist-packages'
PACKAGES = ('libplacement1', 'libplacement-dev', 'python3-libplacement',
            'libplacement-agent', 'libplacement-tools')

if ROOT:
    # Without them, the system's copies (if any) would be tested instead.
    assert os.environ.get('PYTHONPATH', '').split(':')[0] == ROOT + DIST_PACKAGES, \
        'PYTHONPATH must start with %s%s' % (ROOT, DIST_PACKAGES)
    assert os.environ.get('LD_LIBRARY_PATH', '').split(':')[0] == \
        '%s/usr/lib/%s' % (ROOT, MULTIARCH), 'LD_LIBRARY_PATH must name the root'


def installed(path):
    """Where the file a package installs as ``path`` (absolute) is."""
    return ROOT + path


def conffiles(package):
    """The conffiles a package declares."""
    if ROOT:
        with open(os.path.join(ROOT, 'DEBIAN', package, 'conffiles')) as f:
            return f.read().split()
    out = subprocess.run(['dpkg-query', '-W', '-f=${Conffiles}', package],
                         check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def control_file(package, name):
    """A maintainer script or other control file (symbols, shlibs) of an
    installed package."""
    if ROOT:
        return os.path.join(ROOT, 'DEBIAN', package, name)
    out = subprocess.run(['dpkg-query', '--control-path', package, name],
                         check=True, capture_output=True, text=True).stdout
    return out.strip()


def upstream_version(package):
    """The package's version without the Debian revision: the library's."""
    if ROOT:
        with open(os.path.join(ROOT, 'DEBIAN', package, 'control')) as f:
            [version] = [line.split(':', 1)[1].strip() for line in f
                         if line.startswith('Version:')]
    else:
        version = subprocess.run(['dpkg-query', '-W', '-f=${Version}', package],
                                 check=True, capture_output=True, text=True).stdout
    return version.split(':', 1)[-1].rsplit('-', 1)[0]   # no epoch, no revision


def package_files(package):
    """The paths a package installs (absolute, without trailing slash)."""
    if ROOT:
        with open(os.path.join(ROOT, 'DEBIAN', package, 'files')) as f:
            names = [line.rstrip('\n') for line in f]
    else:
        names = subprocess.run(['dpkg', '-L', package], check=True,
                               capture_output=True, text=True).stdout.splitlines()
    paths = {'/' + n.lstrip('./').rstrip('/') for n in names}
    paths.discard('/')
    return sorted(paths)


@pytest.fixture(scope='session', autouse=True)
def debian_python():
    """Every check runs in Debian's interpreter, where Nova lives."""
    assert os.path.realpath(sys.executable).startswith('/usr/bin/python3'), \
        sys.executable
