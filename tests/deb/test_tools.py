"""libplacement-tools: lpctl on the examples it installs."""

import os
import subprocess

from conftest import installed, package_files, upstream_version

LPCTL = installed('/usr/bin/lpctl')
EXAMPLES = '/usr/share/doc/libplacement-tools/examples'


def lpctl(*args):
    return subprocess.run([LPCTL] + list(args), capture_output=True, text=True)


def example(name):
    return installed(os.path.join(EXAMPLES, name))


def test_version_and_manual():
    r = lpctl('--version')
    assert r.returncode == 0
    assert r.stdout.split() == ['lpctl', upstream_version('libplacement-tools')]
    assert '/usr/share/man/man1/lpctl.1.gz' in package_files('libplacement-tools')


def test_place_the_examples():
    r = lpctl('place', '--cluster', example('testbed.json'),
              '--requests', example('requests-spark.json'))
    assert r.returncode == 0, r.stderr
    r = lpctl('place', '--cluster', example('testbed.json'),
              '--requests', example('requests-spark-17.json'))
    assert r.returncode == 3 and 'UNPLACED' in r.stdout


def test_every_example_is_valid():
    names = sorted(n for n in os.listdir(installed(EXAMPLES)) if n.endswith('.json'))
    assert 'testbed.json' in names
    r = lpctl('validate', *[example(n) for n in names])
    assert r.returncode == 0, r.stderr
