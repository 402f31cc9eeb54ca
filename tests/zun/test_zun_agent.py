"""LibplacementFilter with agent snapshots, served over real HTTP."""

import http.server
import json
import threading
import time

import pytest

from zun_driver import filters

import zunhelpers as zh


def snapshot(host, threads, demand, workloads=()):
    return {
        'schema': 'libplacement/snapshot/v1', 'host': host,
        'time': int(time.time()),
        'cpu': {'sockets': 1, 'cores': threads // 2, 'threads': threads},
        'memory_mb': 32768, 'runtimes': ['container', 'vm'],
        'load': {'demand': demand, 'util': demand, 'iowait': 0.0,
                 'steal': 0.0},
        'workloads': list(workloads),
    }


class Agents(http.server.ThreadingHTTPServer):
    """One server standing in for every host's agent: /<host>/v1/snapshot."""

    daemon_threads = True

    def __init__(self, snapshots):
        self.snapshots = snapshots
        self.requests = []
        super(Agents, self).__init__(('127.0.0.1', 0), AgentHandler)


class AgentHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = self.path.split('/')[1]
        self.server.requests.append(host)
        snap = self.server.snapshots.get(host)
        if snap is None:
            self.send_error(404)
            return
        body = json.dumps(snap).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def agents(conf):
    server = Agents({})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conf.config(group='libplacement',
                agent_url='http://127.0.0.1:%d/{host}/v1/snapshot'
                          % server.server_address[1],
                agent_timeout=2.0)
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_measured_demand_replaces_declared(agents):
    # Zun declares both hosts idle; the agent on busy sees 7 threads busy.
    agents.snapshots = {'busy': snapshot('busy', 8, 7.0),
                        'calm': snapshot('calm', 8, 3.0)}
    hosts = [zh.host('busy'), zh.host('calm'), zh.host('noagent')]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('cpu', cpu=2), {})
    # noagent falls back to declared demand (0) and is the emptiest.
    assert zh.names(got) == ['noagent', 'calm']
    assert sorted(agents.requests) == ['busy', 'calm', 'noagent']


def test_group_members_from_snapshots(agents):
    member = {'id': 'web-1', 'runtime': 'container', 'vcpus': 1,
              'threads': 4, 'demand': 0.5, 'util': 0.4, 'wait_ratio': 0.05,
              'iowait': 0.0, 'net_bps': 5e7, 'disk_bps': 0.0, 'class': 'net',
              'confidence': 0.9, 'group': 'web'}
    agents.snapshots = {'a': snapshot('a', 8, 1.0),
                        'b': snapshot('b', 8, 1.5, [member])}
    hosts = [zh.host('a'), zh.host('b')]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('net', cpu=1),
        {'hints': {'libplacement_group': 'web'}})
    # A communicating net group member goes where its group already runs.
    assert zh.names(got) == ['b', 'a']


def test_snapshots_cached_across_requests(agents):
    """Zun makes a filter per request; snapshots live for agent_ttl."""
    agents.snapshots = {'a': snapshot('a', 8, 7.0)}
    for _ in range(3):
        got = filters.LibplacementFilter().filter_all(
            [zh.host('a')], zh.container('cpu', cpu=2), {})
        assert got == []
    assert agents.requests == ['a']


def test_agent_down_falls_back_to_declared_demand(conf):
    conf.config(group='libplacement', agent_timeout=0.5,
                agent_url='http://127.0.0.1:9/{host}/v1/snapshot')
    hosts = [zh.host('full', cpu_used=7), zh.host('ok', cpu_used=1)]
    got = filters.LibplacementFilter().filter_all(
        hosts, zh.container('cpu', cpu=2), {})
    assert zh.names(got) == ['ok']
