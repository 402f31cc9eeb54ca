"""`lpctl fetch` against fake agents (fake_agents.py).

Runs the lpctl binary named by LPCTL (make check-python sets it), else build/lpctl.
"""

import json
import os
import subprocess

import pytest

from fake_agents import TOKEN, server  # noqa: F401 (server is a fixture)

LPCTL = os.environ.get('LPCTL') or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build', 'lpctl')


def lpctl(*args, stdin=None):
    p = subprocess.run([LPCTL, 'fetch'] + list(args), input=stdin, capture_output=True,
                       text=True, timeout=30)
    return p


def template(srv):
    return 'http://127.0.0.1:%d/{host}/v1/snapshot' % srv.server_address[1]


def test_table_and_missing_hosts(server):
    p = lpctl('--url-template', template(server), '--timeout-ms', '3000',
              'node-3', 'node-5', 'error-1', 'hang')
    assert p.returncode == 3, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ['HOST', 'THREADS', 'DEMAND']
    row = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert set(row) == {'node-3', 'node-5'}
    # threads, demand, then cpu net io mixed idle unknown counts
    assert row['node-3'][1:9] == ['8', '3.00', '1', '0', '0', '0', '1', '0']
    assert 'missing error-1: HTTP status 500' in p.stderr
    assert 'missing hang: timed out' in p.stderr
    assert '2 of 4 hosts fetched' in p.stderr


def test_json_is_a_cluster_file(server):
    p = lpctl('--url-template', template(server), '--json', 'node-1', 'node-2')
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [h['host'] for h in doc['hosts']] == ['node-1', 'node-2']
    assert doc['hosts'][1]['load']['demand'] == 2.0


def test_hosts_file_and_token(server, tmp_path):
    hosts = tmp_path / 'hosts'
    hosts.write_text('# compute nodes\nsecure-1\n\n  secure-2  # rack 2\n')
    tok = tmp_path / 'token'
    tok.write_text(TOKEN + '\n')
    p = lpctl('--url-template', template(server), '--hosts-file', str(hosts))
    assert p.returncode == 3 and 'HTTP status 401' in p.stderr
    p = lpctl('--url-template', template(server), '--hosts-file', str(hosts),
              '--token-file', str(tok))
    assert p.returncode == 0, p.stderr
    assert '2 of 2 hosts fetched' in p.stderr
    p = lpctl('--url-template', template(server), '--hosts-file', '-', stdin='node-1\n')
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize('args, says', [
    ([], '--url-template is required'),
    (['--url-template', 'http://{host}/x'], 'give host names or --hosts-file'),
    (['--url-template', 'http://x/', 'h'], 'has no {host}'),
    (['--url-template', 'http://{host}/x', 'a/b'], "byte 0x2f at position 1"),
    (['--url-template', 'http://{host}/x', '--timeout-ms', '0', 'h'], "--timeout-ms '0'"),
    (['--url-template', 'http://{host}/x', '--bogus', '1', 'h'], 'unknown option --bogus'),
    (['--url-template', 'http://{host}/x', '--hosts-file', '/nonexistent'], 'cannot open'),
])
def test_bad_input_exits_2(args, says):
    p = lpctl(*args)
    assert p.returncode == 2
    assert says in p.stderr


def test_duplicate_host_is_bad_input(server):
    p = lpctl('--url-template', template(server), 'node-1', 'node-1')
    assert p.returncode == 2
    assert 'listed twice' in p.stderr and 'missing' not in p.stderr


def test_help():
    p = lpctl('--help')
    assert p.returncode == 0 and 'usage: lpctl fetch' in p.stdout
