"""The knee model: how much parallel work slows down past a host's threads.

Importable on its own (no libplacement needed): the simulation uses it, and
so may the Nova demo (``sys.path`` holding ``eval/``)::

    from knee_model import KneeModel
    m = KneeModel.load('build/eval/knee_fit.json')      # or KneeModel()
    m.speed('cpu', demand=10.0, threads=8)               # -> 0.78 (of full speed)

Model.  x = demand / threads of a host (demand: runnable threads wanting a
CPU, as libplacement-agent measures it).  Up to x = 1 every server runs at
full speed.  Past it the host's threads are shared, so each server gets at
most 1/x of what it would get alone, and contention costs a little more on
top (cache, context switches, queueing in the web server):

    speed(x) = 1                                   x <= 1
    speed(x) = max(floor, (1 - k (x - 1)) / x)     x > 1

k is fitted per workload class from the knee measurements (least squares on
the points past x = 1; k = 0 when none were taken: ideal time sharing).
Slowdown = 1 / speed.  net, io and idle work are modelled with the net fit;
cpu and mixed with the cpu fit.

The rest of the module turns measured points into the knee report: medians
and spread per number of servers, where throughput stops rising, where the
agent's demand reaches the slice's threads, and how many servers
libplacement's filter admits on the measured demand.
"""

import json
import statistics

FLOOR = 0.05
KNEE_GAIN = 0.25
DEMAND_REACHED = 0.9


class KneeModel:
    """speed(klass, demand, threads) of a server on a host, from fitted k."""

    def __init__(self, k_cpu=0.0, k_net=0.0, source='ideal time sharing (no fit)'):
        self.k = {'cpu': k_cpu, 'net': k_net}
        self.source = source

    @classmethod
    def load(cls, path):
        with open(path) as f:
            d = json.load(f)
        return cls(d['k_cpu'], d['k_net'], d.get('source', path))

    def save(self, path):
        with open(path, 'w') as f:
            json.dump({'k_cpu': self.k['cpu'], 'k_net': self.k['net'],
                       'source': self.source}, f, indent=1)

    def k_for(self, klass):
        return self.k['cpu'] if klass in ('cpu', 'mixed', 'unknown') else self.k['net']

    def speed(self, klass, demand, threads):
        x = demand / threads
        if x <= 1.0:
            return 1.0
        return max(FLOOR, (1.0 - self.k_for(klass) * (x - 1.0)) / x)

    def slowdown(self, klass, demand, threads):
        return 1.0 / self.speed(klass, demand, threads)


def fit_k(points):
    """k from (x, s) pairs, s = per-server speed relative to one server alone:
    least squares of 1 - s x = k (x - 1) over the points with x > 1."""
    num = sum((1.0 - s * x) * (x - 1.0) for x, s in points if x > 1.0)
    den = sum((x - 1.0) ** 2 for x, s in points if x > 1.0)
    return max(0.0, num / den) if den > 0 else 0.0


def summarize(points):
    """Per number of servers: median and spread of throughput and of the
    agent's numbers.  points: dicts from knee.Bench.run_*_point."""
    by_n = {}
    for p in points:
        by_n.setdefault(p['servers'], []).append(p)
    rows = []
    for n in sorted(by_n):
        ps = by_n[n]
        thr = [p['throughput'] for p in ps]
        dem = [p['demand'] for p in ps]
        rows.append({
            'servers': n, 'repeats': len(ps), 'threads': ps[0]['threads'],
            'server_threads': ps[0]['server_threads'],
            'throughput': statistics.median(thr), 'throughput_min': min(thr),
            'throughput_max': max(thr),
            'demand': statistics.median(dem), 'demand_min': min(dem),
            'demand_max': max(dem),
            'wait_ratio': statistics.median(p['wait_ratio'] for p in ps),
            'util': statistics.median(p['util'] for p in ps),
            'foreign_cpu_max': max(p['foreign_cpu'] for p in ps),
            'load1_max': max(p['load1'] for p in ps),
            'classes': sorted({c for p in ps for c in p['classes']}),
        })
    return rows


def knee(rows, gain=KNEE_GAIN):
    """The number of servers after which throughput stops rising: the first n
    whose next server adds less than `gain` x what one server alone delivers.
    None if throughput still rises at the largest n measured."""
    base = rows[0]['throughput'] / rows[0]['servers']
    for a, b in zip(rows, rows[1:]):
        if b['throughput'] - a['throughput'] < gain * base * (b['servers'] - a['servers']):
            return a['servers']
    return None


def demand_reaches(rows, fraction=DEMAND_REACHED):
    """The first n at which the agent's (median) demand reaches the slice's
    threads (within 1 - fraction); None if it never does."""
    for r in rows:
        if r['demand'] >= fraction * r['threads']:
            return r['servers']
    return None


def cap_servers(rows, klass, lp):
    """How many servers libplacement's filter admits on this host when each
    new server is checked against the demand the agent measured with the
    servers already there: server n passes if D(n-1) + added <= threads,
    added = the server's parallelism for cpu work, its measured demand (alone)
    for net work.  lp: the libplacement module."""
    ctx = lp.Context()
    per_server = rows[0]['demand'] / rows[0]['servers']
    request = {'id': 'server', 'vcpus': rows[0]['server_threads'], 'workload': klass}
    if klass not in ('cpu', 'mixed'):
        request['demand'] = per_server
    demand_before = {r['servers']: r['demand'] for r in rows}
    admitted = 0
    for r in rows:
        before = demand_before.get(r['servers'] - 1, 0.0)
        v = ctx.filter_score(request, [(r['threads'], before, -1.0, lp.RUNTIME_ALL, 0)])
        if not v.passes[0]:
            break
        admitted = r['servers']
    return admitted


def speed_points(rows):
    """(x, s) per row: x = n x (demand of one server alone) / threads, s =
    per-server throughput relative to one server alone."""
    one = rows[0]
    d1 = one['demand'] / one['servers']
    t1 = one['throughput'] / one['servers']
    return [(r['servers'] * d1 / r['threads'], (r['throughput'] / r['servers']) / t1)
            for r in rows]
