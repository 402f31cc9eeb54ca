"""Fake libplacement agents over real HTTP for the Nova tests.

``AgentFarm`` runs snapshot_server.py (a separate process on a free
loopback port) and writes what each host's agent answers: a snapshot built
by ``snapshot()``, or an HTTP status (503: an agent whose sweeps stopped).
"""

import json
import os
import subprocess
import sys
import time

import fixtures

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = 8


def workload(wid, demand, threads, klass, runtime='container', vcpus=None,
             util=None, wait_ratio=0.05, net_bps=None):
    """A snapshot workload as an agent reports it (no group: collectors
    never know one)."""
    w = {'id': wid, 'runtime': runtime, 'threads': threads,
         'demand': demand, 'util': demand if util is None else util,
         'wait_ratio': wait_ratio, 'class': klass, 'confidence': 0.8}
    if vcpus is not None:
        w['vcpus'] = vcpus
    if net_bps is not None:
        w['net_bps'] = net_bps
    return w


def vm(instance_uuid, demand=0.1, vcpus=2):
    """A Nova instance as the libvirt collector reports it: its id is the
    instance UUID; just booted, it is nearly idle."""
    return workload(instance_uuid, demand, vcpus + 1, 'idle', runtime='vm',
                    vcpus=vcpus)


def thread_pool(wid, threads=200, demand=0.0):
    """A service with a big thread pool of waiting threads (a web server
    between requests): many threads, no demand."""
    return workload(wid, demand, threads, 'net', util=0.01, net_bps=5e4)


def snapshot(host, workloads=(), load_demand=None, when=None, extra=None):
    """A libplacement/snapshot/v1 document of an 8-thread host.

    load_demand defaults to the sum of the workloads' demand; when (unix
    time) to None: a live agent, the server stamps the time it answers.
    extra adds fields (an agent newer than the scheduler may send more).
    """
    if load_demand is None:
        load_demand = sum(w['demand'] for w in workloads)
    doc = {'schema': 'libplacement/snapshot/v1', 'host': 'agent-' + host,
           'time': None if when is None else int(when),
           'cpu': {'sockets': 1, 'cores': 4, 'threads': THREADS},
           'memory_mb': 16384, 'runtimes': ['container', 'unikernel', 'vm'],
           'load': {'demand': load_demand, 'util': load_demand,
                    'iowait': 0.0, 'steal': 0.0},
           'workloads': list(workloads)}
    doc.update(extra or {})
    return doc


class AgentFarm(fixtures.Fixture):
    """One HTTP server playing the agents of many hosts."""

    def _setUp(self):
        self.directory = self.useFixture(fixtures.TempDir()).path
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, 'snapshot_server.py'),
             self.directory], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self._stop)
        port = int(self.process.stdout.readline())
        self.url_template = 'http://127.0.0.1:%d/{host}/v1/snapshot' % port

    def _stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)

    def _write(self, name, text):
        path = os.path.join(self.directory, name)
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.rename(path + '.tmp', path)

    def serve(self, host, doc):
        """The host's agent answers 200 with doc."""
        self._remove(host + '.status')
        self._write(host + '.json', json.dumps(doc))

    def answer(self, host, status):
        """The host's agent answers with this HTTP status."""
        self._write(host + '.status', str(status))

    def _remove(self, name):
        try:
            os.unlink(os.path.join(self.directory, name))
        except FileNotFoundError:
            pass


def refresh(snapshots, hosts, until, deadline=120.0):
    """Let the scheduler's background fetch run for hosts until
    until(snapshots) holds, as requests would (each request queues the
    hosts it considers). deadline only guards against a hang."""
    end = time.monotonic() + deadline
    while True:
        now = time.time()
        for host in hosts:
            snapshots.get(host, now)
        snapshots.start_refresh()
        if until(snapshots):
            return
        if time.monotonic() > end:
            raise AssertionError('agent snapshots did not reach the expected '
                                 'state within %.0f s' % deadline)
        time.sleep(0.05)


def held_since(hosts, since):
    """until() for refresh: every host holds a snapshot taken at or after
    since (unix time)."""
    def check(snapshots):
        now = time.time()
        for host in hosts:
            snap = snapshots.get(host, now)
            if snap is None or snap.time < int(since):
                return False
        return True
    return check
