"""libplacement1 and libplacement-dev: the exported ABI, and programs built
with pkg-config against the installed headers and libraries."""

import os
import re
import subprocess

import pytest

from conftest import HERE, MULTIARCH, ROOT, control_file, installed, upstream_version

LIBDIR = '/usr/lib/%s' % MULTIARCH
EXAMPLES = os.path.join(HERE, '..', '..', 'examples')


def exported(path):
    out = subprocess.run(['nm', '-D', '--defined-only', path], check=True,
                         capture_output=True, text=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines())


def version_le(a, b):
    return subprocess.run(['dpkg', '--compare-versions', a, 'le', b]).returncode == 0


def test_symbols_file_lists_every_export():
    """Each with the version it appeared in: SONAME 1 began with 1.0.0."""
    lib = installed(LIBDIR + '/libplacement.so.1')
    with open(control_file('libplacement1', 'symbols')) as f:
        lines = f.read().splitlines()
    assert lines[0] == 'libplacement.so.1 libplacement1 #MINVER#'
    entries = [line.split() for line in lines[1:] if line.startswith(' ')]
    for _, version in entries:
        assert version_le('1.0.0', version)
        assert version_le(version, upstream_version('libplacement1'))
    names = sorted(sym.split('@')[0] for sym, _ in entries)
    assert names == exported(lib)
    assert all(name.startswith('lp_') for name in names)
    soname = subprocess.run(['objdump', '-p', lib], check=True, capture_output=True,
                            text=True).stdout
    assert re.search(r'SONAME\s+libplacement\.so\.1$', soname, re.M)
    with open(control_file('libplacement1', 'shlibs')) as f:
        assert f.read().split()[:3] == ['libplacement', '1', 'libplacement1']


def pkg_config(*args):
    """pkg-config's answer for libplacement (and the other modules named)."""
    env = dict(os.environ)
    if ROOT:
        # -I and -L of the root; json-c's and libcurl's .pc from the system.
        env['PKG_CONFIG_SYSROOT_DIR'] = ROOT
        env['PKG_CONFIG_PATH'] = installed(LIBDIR + '/pkgconfig')
    if not [a for a in args if not a.startswith('-')]:
        args += ('libplacement',)
    out = subprocess.run(['pkg-config'] + list(args), check=True,
                         capture_output=True, text=True, env=env).stdout
    return out.split()


@pytest.fixture
def build(tmp_path):
    def cc(source, *link):
        exe = str(tmp_path / os.path.splitext(source)[0])
        subprocess.run(['cc', '-std=c11', '-Wall', '-Wextra', '-Werror', '-o', exe,
                        os.path.join(HERE, source)] + pkg_config('--cflags') + list(link),
                       check=True)
        return exe
    return cc


def run(*argv):
    return subprocess.run(list(argv), check=True, capture_output=True, text=True).stdout


def test_pkg_config_version():
    assert pkg_config('--modversion') == [upstream_version('libplacement-dev')]


def test_program_linked_against_the_shared_library(build):
    exe = build('dev_place.c', *pkg_config('--libs'))
    assert 'libplacement.so.1' in run('ldd', exe)
    version = upstream_version('libplacement1')
    cluster = os.path.join(EXAMPLES, 'testbed.json')
    assert run(exe, cluster, os.path.join(EXAMPLES, 'requests-spark.json')) == \
        '16 0 %s\n' % version
    # A 17th worker: every host would exceed its 8 hardware threads.
    assert run(exe, cluster, os.path.join(EXAMPLES, 'requests-spark-17.json')) == \
        '16 1 %s\n' % version


def test_program_linked_against_the_static_library(build):
    """libplacement.a linked in, what it needs (libplacement.pc's
    Requires.private and Libs.private) shared."""
    exe = build('dev_place.c', *(pkg_config('--libs-only-L') +
                                 ['-Wl,-Bstatic', '-lplacement', '-Wl,-Bdynamic'] +
                                 pkg_config('--libs', 'json-c', 'libcurl') + ['-lm']))
    assert 'libplacement' not in run('ldd', exe)
    assert run(exe, os.path.join(EXAMPLES, 'testbed.json'),
               os.path.join(EXAMPLES, 'requests-spark.json')) == \
        '16 0 %s\n' % upstream_version('libplacement-dev')


def test_collectors_link_with_the_shared_library(build):
    """libplacement-collect.a uses the public API only: it links with
    -lplacement, and json-c for the Docker collector (docs/packaging.md)."""
    exe = build('dev_collect.c', installed(LIBDIR + '/libplacement-collect.a'),
                *(pkg_config('--libs') + pkg_config('--libs', 'json-c') + ['-lm']))
    assert 'proc' in run(exe).split()
