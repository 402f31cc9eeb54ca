"""The knees on real work: throughput against servers per host.

A "host" is a cgroup slice of fixed CPUs; each server runs in its own cgroup
inside it.  For n = 1..N servers (fresh servers per point, repeated, the
values of n interleaved across repeats so that slow drift of the machine
spreads over all of them) the run measures

- throughput: pi iterations/s of all servers (fixed work per server:
  n x iterations / time until the last one ends), or replies/s of all web
  servers under httperf;
- libplacement-agent's view of the same moment (``--once``, proc collector):
  each server's demand, wait ratio, util and class, and the slice's demand
  (their sum);
- how busy the rest of the machine was: the CPU time others used on the
  slice's CPUs during the point (busy time of those CPUs from /proc/stat
  minus what the evaluation's own cgroups used), and the load average.

Experiments: ``pi`` (2-CPU slice; servers of 1 and of 2 threads), ``web``
(1-CPU slice, httperf on the other CPU; nginx servers of 2 worker processes,
each offered a fixed request rate sized so that one server's demand is about
a quarter of the slice).
"""

import json
import os
import statistics
import subprocess
import time

import cgroups
import workloads


def load_average():
    with open('/proc/loadavg') as f:
        return float(f.read().split()[0])


class Agent:
    """libplacement-agent --once over a window, in the tools cgroup."""

    def __init__(self, binary, cgroup, window):
        self.window = window
        self.proc = cgroup.spawn([binary, '--once', '--window', str(window),
                                  '--collectors', 'proc', '--log-level', 'error'],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)

    def snapshot(self):
        out, err = self.proc.communicate(timeout=60 + self.window)
        if self.proc.returncode != 0:
            raise RuntimeError('libplacement-agent --once failed (%d): %s'
                               % (self.proc.returncode, err))
        return json.loads(out)


class MissedServers(RuntimeError):
    """The agent's snapshot lacks servers: they had ended before its window
    did (a slow machine started the agent late)."""


# Times a pi point is run again when the agent missed its servers.
POINT_ATTEMPTS = 3


def servers_view(snapshot, servers):
    """The agent's workloads for the given server cgroups, in their order."""
    by_id = {w['id']: w for w in snapshot['workloads']}
    missing = [s.rel for s in servers if s.rel not in by_id]
    if missing:
        raise MissedServers('agent snapshot lacks servers %s' % missing)
    return [by_id[s.rel] for s in servers]


class Meter:
    """Others' CPU use on the slice's CPUs between start() and stop()."""

    def __init__(self, own, cpus):
        self.own, self.cpus = own, cpus

    def _sample(self):
        per_cpu = self.own.usage_per_cpu()
        own = (sum(per_cpu[c] for c in self.cpus if c < len(per_cpu))
               if per_cpu is not None else self.own.usage())
        return time.monotonic(), cgroups.cpu_busy_seconds(self.cpus), own

    def start(self):
        self.t0 = self._sample()

    def stop(self):
        t1 = self._sample()
        dt = t1[0] - self.t0[0]
        return max(0.0, ((t1[1] - self.t0[1]) - (t1[2] - self.t0[2])) / dt)


class Bench:
    """Shared state of a run: binaries, the evaluation's cgroup tree."""

    def __init__(self, tag, workdir, agent, pi_binary, log=print):
        self.tag, self.workdir, self.agent, self.pi = tag, workdir, agent, pi_binary
        self.log = log
        self.top = cgroups.Cgroup('/lp-eval-%s' % tag)
        # Others share this machine: what the evaluation runs gets the CPU
        # first, so that their work disturbs the measurements less.
        self.top.set_priority()
        os.makedirs(workdir, exist_ok=True)

    def close(self):
        self.top.destroy()

    def run_pi_point(self, n, threads, iterations, slice_cpus, window, repeat):
        """One pi point; run again (up to POINT_ATTEMPTS times) when the
        agent measured after the servers had ended."""
        for attempt in range(1, POINT_ATTEMPTS + 1):
            try:
                return self._pi_point(n, threads, iterations, slice_cpus, window, repeat)
            except MissedServers as e:
                if attempt == POINT_ATTEMPTS:
                    raise
                self.log('  pi: %s; the point is run again' % e)

    def _pi_point(self, n, threads, iterations, slice_cpus, window, repeat):
        host = self.top.child('pi-host', cpus=slice_cpus)
        tools = self.top.child('tools', cpus=slice_cpus)
        cpus = cgroups.parse_cpu_list(slice_cpus)
        try:
            servers = [host.child('srv%d' % i) for i in range(1, n + 1)]
            procs = [workloads.PiServer(s, self.pi, threads, iterations) for s in servers]
            meter = Meter(self.top, cpus)
            load = load_average()
            meter.start()
            t0 = time.monotonic()
            for p in procs:
                p.start()
            time.sleep(min(0.3, window / 3))
            snap = Agent(self.agent, tools, window).snapshot()
            results = [p.result(timeout=600) for p in procs]
            makespan = time.monotonic() - t0
            foreign = meter.stop()
        finally:
            host.destroy()
            tools.destroy()
        view = servers_view(snap, servers)
        return dict(_agent_fields(view), servers=n, repeat=repeat, threads=len(cpus),
                    server_threads=threads, load1=load, foreign_cpu=foreign,
                    seconds=makespan,
                    throughput=n * iterations / makespan,
                    per_server=[r['rate'] for r in results])

    def run_web_point(self, n, workers, rate, seconds, slice_cpus, client_cpus,
                      window, repeat, page_dir):
        host = self.top.child('web-host', cpus=slice_cpus)
        client = self.top.child('web-client', cpus=client_cpus)
        tools = self.top.child('tools', cpus=client_cpus)
        cpus = cgroups.parse_cpu_list(slice_cpus)
        servers, webs = [], []
        try:
            for i in range(1, n + 1):
                cg = host.child('srv%d' % i)
                servers.append(cg)
                webs.append(workloads.WebServer(
                    cg, os.path.join(self.workdir, 'web%d' % i), workers, page_dir))
            meter = Meter(self.top, cpus)
            load = load_average()
            meter.start()
            clients = [workloads.HttperfClient(client, w.port, rate, seconds) for w in webs]
            time.sleep(min(1.0, seconds / 4))
            snap = Agent(self.agent, tools, window).snapshot()
            results = [c.result(timeout=seconds + 120) for c in clients]
            foreign = meter.stop()
        finally:
            for w in webs:
                w.stop()
            host.destroy()
            client.destroy()
            tools.destroy()
        view = servers_view(snap, servers)
        replies = sum(r['replies'] for r in results)
        duration = max(r['duration'] for r in results)
        return dict(_agent_fields(view), servers=n, repeat=repeat, threads=len(cpus),
                    server_threads=workers, load1=load, foreign_cpu=foreign,
                    seconds=duration, throughput=replies / duration,
                    offered=n * rate, errors=sum(r['errors'] for r in results),
                    response_ms=statistics.median(r['response_ms'] for r in results),
                    per_server=[r['replies'] / r['duration'] for r in results])

    def web_cost_per_reply(self, workers, slice_cpus, client_cpus, page_dir,
                           rate=4000.0, seconds=3.0, runs=3):
        """CPU seconds one server spends per reply when busy: offered more
        than its CPU can answer, the median of runs fresh servers.  At a
        light load a reply costs up to 2-3 times as much (every request
        wakes an idle CPU), which would size the experiment's rates so low
        that the slice never fills."""
        costs = []
        for run in range(runs):
            host = self.top.child('web-host', cpus=slice_cpus)
            client = self.top.child('web-client', cpus=client_cpus)
            try:
                srv = host.child('srv1')
                web = workloads.WebServer(srv, os.path.join(self.workdir, 'calib%d' % run),
                                          workers, page_dir)
                used0 = srv.usage()
                res = workloads.HttperfClient(client, web.port, rate, seconds).result(
                    timeout=seconds + 120)
                used = srv.usage() - used0
                web.stop()
            finally:
                host.destroy()
                client.destroy()
            if res['replies'] == 0:
                raise RuntimeError('calibration: no replies from nginx')
            costs.append(used / res['replies'])
        return statistics.median(costs)


def _agent_fields(view):
    return {
        'demand': sum(w.get('demand', 0.0) for w in view),
        'util': sum(w.get('util', 0.0) for w in view),
        'demand_per_server': [w.get('demand', -1.0) for w in view],
        'wait_ratio': statistics.median(w.get('wait_ratio', 0.0) for w in view),
        'classes': sorted({w.get('class', 'unknown') for w in view}),
    }


def interleaved(ns, repeats):
    """(repeat, n) pairs: every n once per repeat, in alternating order."""
    out = []
    for r in range(repeats):
        order = list(ns) if r % 2 == 0 else list(reversed(ns))
        out.extend((r, n) for n in order)
    return out
