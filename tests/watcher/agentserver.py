"""libplacement agents for the tests: one HTTP server plays every node's
agent. GET /<host>/v1/snapshot answers the snapshot set for that host, taken
now (its time is the time of the answer), 404 for a host without one (its
agent is down), and garbage for a host whose snapshot is the string
'garbage'.
"""

import http.server
import json
import threading
import time

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):
        host = self.path.split('/')[1]
        snapshot = self.server.snapshots.get(host)
        if snapshot is None:
            code, body = 404, b'no agent'
        elif snapshot == 'garbage':
            code, body = 200, b'<html>not a snapshot</html>'
        else:
            # Measured now, as a live agent's snapshot is.
            snapshot = dict(snapshot, time=time.time())
            code, body = 200, json.dumps(snapshot).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def snapshot(host, workloads, threads=8, demand=None, memory_mb=16384,
             runtimes=('container', 'unikernel', 'vm')):
    """A measured snapshot (schema libplacement/snapshot/v1)."""
    snap = {'schema': 'libplacement/snapshot/v1', 'host': host,
            'cpu': {'sockets': 1, 'cores': threads // 2 or 1,
                    'threads': threads},
            'memory_mb': memory_mb, 'runtimes': list(runtimes),
            'workloads': list(workloads)}
    if demand is not None:
        snap['load'] = {'demand': demand, 'util': demand, 'iowait': 0.0,
                        'steal': 0.0}
    return snap


@pytest.fixture
def agents():
    """A running agents server: set server.snapshots[host]; its URL template
    is server.url_template.
    """
    srv = _Server(('127.0.0.1', 0), _Handler)
    srv.snapshots = {}
    srv.url_template = 'http://127.0.0.1:%d/{host}/v1/snapshot' % \
        srv.server_address[1]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
