"""Fake libplacement agents for the fetcher's tests: one http.server in a
thread plays many agents.  The host name is part of the path (url_template
'http://127.0.0.1:PORT/{host}/v1/snapshot') and says how the agent behaves:
'hang*' never answers while the test runs (it waits for server.release),
'gate*' answers a valid snapshot once the test sets server.gate, 'garbage*'
is not JSON, 'error*' is a 500, 'big*' is 200 kB, 'secure*' wants the bearer
token TOKEN; any other host gets a valid snapshot whose demand is the number
after its last '-'.
"""

import http.server
import json
import threading
import time

import pytest

TOKEN = 's3cret'


def snapshot(host, demand):
    return {
        'schema': 'libplacement/snapshot/v1', 'host': 'agent-' + host, 'time': time.time(),
        'cpu': {'sockets': 1, 'cores': 4, 'threads': 8}, 'memory_mb': 16384,
        'runtimes': ['container', 'vm'],
        'load': {'demand': demand, 'util': 1.0, 'iowait': 0.0, 'steal': 0.0},
        'workloads': [{'id': host + '-spark', 'runtime': 'vm', 'vcpus': 2, 'threads': 2,
                       'demand': 2.0, 'util': 1.9, 'class': 'cpu', 'confidence': 0.9},
                      {'id': host + '-idle', 'class': 'idle'}],
    }


class Agents(http.server.BaseHTTPRequestHandler):
    """Answers /<host>/v1/snapshot according to the host name's prefix."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _send(self, code, body):
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        host = self.path.split('/')[1]
        self.server.hits.append(host)
        if host.startswith('secure') and \
                self.headers.get('Authorization') != 'Bearer ' + TOKEN:
            return self._send(401, b'')
        if host.startswith('hang'):
            self.server.release.wait(60)
            return self._send(200, b'{}')
        if host.startswith('gate'):
            self.server.gate.wait(60)
        if host.startswith('garbage'):
            return self._send(200, b'<html>not json</html>')
        if host.startswith('error'):
            return self._send(500, b'oops')
        if host.startswith('big'):
            return self._send(200, b' ' * 200000)
        demand = float(host.rsplit('-', 1)[-1]) if host[-1].isdigit() else 1.0
        self._send(200, json.dumps(snapshot(host, demand)).encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # all agents are connected to at once (the default backlog is 5)


@pytest.fixture
def server():
    """A running Server; server.hits lists the host of every request.

    The hung agents are released when the test ends, so that shutdown does
    not wait for them.
    """
    srv = Server(('127.0.0.1', 0), Agents)
    srv.hits = []
    srv.release = threading.Event()
    srv.gate = threading.Event()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.release.set()
    srv.gate.set()
    srv.shutdown()
    srv.server_close()
