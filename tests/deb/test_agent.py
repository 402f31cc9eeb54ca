"""libplacement-agent as its systemd unit starts it, and what the package
does on installation (needs root: the agent reads every process's /proc).

The command is the unit's own ExecStart line; the only change is the port
(a free one, so that an agent already running on 9180 does not interfere).
"""

import configparser
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import MULTIARCH, ROOT, conffiles, control_file, installed, package_files

UNIT = '/lib/systemd/system/libplacement-agent.service'
CONF = '/etc/libplacement/agent.conf'

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason='the agent runs as root (its unit has no User=)')


def unit():
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    with open(installed(UNIT)) as f:
        parser.read_file(f)
    return parser


def exec_start():
    """The unit's ExecStart as argv, its absolute paths in the packages."""
    argv = shlex.split(unit()['Service']['ExecStart'])
    assert argv[0] == '/usr/bin/libplacement-agent', argv
    return [installed(a) if a.startswith('/') else a for a in argv]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def listening_addresses(port):
    """Local addresses with a TCP socket listening on port (/proc/net/tcp*)."""
    found = []
    for name, width in (('tcp', 8), ('tcp6', 32)):
        with open('/proc/net/' + name) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                addr, p = local.split(':')
                if int(p, 16) == port and state == '0A':
                    raw = bytes.fromhex(addr)
                    # /proc prints each 32-bit word in host (little-endian) order.
                    words = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    family = socket.AF_INET if width == 8 else socket.AF_INET6
                    found.append(socket.inet_ntop(family, words))
    return found


def test_conffile_holds_only_commented_defaults():
    assert CONF in conffiles('libplacement-agent')
    with open(installed(CONF)) as f:
        lines = [line.strip() for line in f]
    assert all(not line or line.startswith('#') for line in lines), lines
    assert '# listen = 127.0.0.1' in lines


def test_unit_is_enabled_and_started_by_postinst():
    """dh_installsystemd's snippet: enabled, started (listening on loopback
    only, see below), restarted after upgrades, stopped on removal."""
    postinst = open(control_file('libplacement-agent', 'postinst')).read()
    assert re.search(r"deb-systemd-helper .*enable 'libplacement-agent.service'", postinst)
    assert re.search(r"deb-systemd-invoke \$_dh_action 'libplacement-agent.service'",
                     postinst)
    prerm = open(control_file('libplacement-agent', 'prerm')).read()
    assert "deb-systemd-invoke stop 'libplacement-agent.service'" in prerm
    if not ROOT:
        # Installed: the postinst has enabled it (its [Install] links).
        for target in unit()['Install']['WantedBy'].split():
            link = '/etc/systemd/system/%s.wants/libplacement-agent.service' % target
            assert os.readlink(link) == UNIT and os.path.exists(link), link


def test_unit_documentation_is_installed():
    docs = unit()['Unit']['Documentation'].split()
    files = set(package_files('libplacement-agent'))
    assert 'man:libplacement-agent(8)' in docs
    assert '/usr/share/man/man8/libplacement-agent.8.gz' in files
    for doc in docs:
        if doc.startswith('file://'):
            assert doc[len('file://'):] in files, doc


def test_once_prints_a_snapshot():
    """ExecStart with --once: two sweeps, the snapshot on stdout."""
    r = subprocess.run(exec_start() + ['--once', '--window', '0.2'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    check_snapshot(json.loads(r.stdout))


def check_snapshot(snapshot):
    assert snapshot['schema'] == 'libplacement/snapshot/v1'
    assert snapshot['host'] == socket.gethostname()
    assert 1 <= snapshot['cpu']['threads'] <= os.cpu_count()


def test_daemon_serves_on_loopback_only_and_stops_on_sigterm():
    port = free_port()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(exec_start() + ['--port', str(port), '--interval', '0.5'],
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            snapshot = None
            deadline = time.monotonic() + 60   # hang guard only
            while snapshot is None and time.monotonic() < deadline:
                assert proc.poll() is None, 'agent exited: %s' % read(err)
                try:
                    with urllib.request.urlopen(
                            'http://127.0.0.1:%d/v1/snapshot' % port, timeout=5) as r:
                        snapshot = json.load(r)
                except OSError:
                    time.sleep(0.2)
            assert snapshot is not None, 'no snapshot: %s' % read(err)
            check_snapshot(snapshot)
            assert listening_addresses(port) == ['127.0.0.1']
            with urllib.request.urlopen('http://127.0.0.1:%d/healthz' % port,
                                        timeout=5) as r:
                assert r.status == 200
            proc.send_signal(signal.SIGTERM)   # the unit's KillSignal
            assert proc.wait(timeout=30) == 0, read(err)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def read(f):
    f.seek(0)
    return f.read().decode(errors='replace')


def test_agent_uses_the_packaged_library():
    out = subprocess.run(['ldd', installed('/usr/bin/libplacement-agent')],
                         capture_output=True, text=True, check=True).stdout
    [line] = [x for x in out.splitlines() if 'libplacement.so.1' in x]
    assert os.path.realpath(line.split('=>')[1].split()[0]) == \
        os.path.realpath(installed('/usr/lib/%s/libplacement.so.1' % MULTIARCH))
