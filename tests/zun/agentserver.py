"""Agents for the Zun tests: snapshots served over real HTTP.

One ``Agents`` server stands in for every host's libplacement-agent
(``/<host>/v1/snapshot``); the ``agents`` fixture (conftest.py) starts one
and points ``[libplacement] agent_url`` at it.
"""

import http.server
import json
import threading
import time

#: Hang guard for background refreshes (never an assertion of speed).
GUARD_S = 60


def snapshot(host, threads, demand, workloads=(), age=0.0):
    """A host's snapshot (libplacement/snapshot/v1), measured age s ago."""
    return {
        'schema': 'libplacement/snapshot/v1', 'host': host,
        'time': int(time.time() - age),
        'cpu': {'sockets': 1, 'cores': threads // 2, 'threads': threads},
        'memory_mb': 32768, 'runtimes': ['container', 'vm'],
        'load': {'demand': demand, 'util': demand, 'iowait': 0.0,
                 'steal': 0.0},
        'workloads': list(workloads),
    }


def workload(wid, group=None, demand=0.5, klass='net', confidence=0.9,
             image=None, flavor=None, vcpus=1):
    """A running container as the agent lists it (by default a net-class
    service with 4 threads)."""
    w = {'id': wid, 'runtime': 'container', 'vcpus': vcpus, 'threads': 4,
         'demand': demand, 'util': demand, 'wait_ratio': 0.05,
         'iowait': 0.0, 'net_bps': 5e7 if klass == 'net' else 1e3,
         'disk_bps': 0.0, 'class': klass, 'confidence': confidence,
         'group': group}
    if image is not None:
        w['image'] = image
    if flavor is not None:
        w['flavor'] = flavor
    return w


class Agents(http.server.ThreadingHTTPServer):
    """One server standing in for every host's agent: /<host>/v1/snapshot.

    While ``hold`` is cleared, answers wait for it (a hung agent).
    """

    daemon_threads = True

    def __init__(self, snapshots):
        self.snapshots = snapshots
        self.requests = []
        self.answered = []
        self.hold = threading.Event()
        self.hold.set()
        super(Agents, self).__init__(('127.0.0.1', 0), AgentHandler)


class AgentHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = self.path.split('/')[1]
        self.server.requests.append(host)
        self.server.hold.wait(GUARD_S)
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
        self.server.answered.append(host)

    def log_message(self, *args):
        pass
