"""Placement quality at scale: stock Nova, libplacement and the best placement.

Clusters of 100 to 10,000 hosts receive the same workload under each policy:

- ``nova``: stock Nova 26 (novamodel.NovaScheduler: Placement's allocation
  ratios, RAM/CPU/Disk weighers); ``nova+groups``: the same with the groups
  as soft-(anti-)affinity server groups;
- ``libplacement``: the C core through the Python module: ``ctx.place()`` for
  a batch, ``ctx.filter_score()`` one instance at a time for a trace with
  departures;
- ``best``: for a batch, an exact optimum on small instances (integer program,
  HiGHS via scipy.optimize.milp) and an upper bound on large ones (below).

Workload (instances of 2 or 4 vCPUs in requests of 1..16):

| class | parallelism | true demand | memory | groups |
| cpu   | 2 or 4 vCPUs | its parallelism (keeps its threads busy) | 2 GB/vCPU | jobs of 4-16 workers (spread) |
| net   | 2 | 0.2..1.4 runnable threads (web servers at various loads) | 2 GB | 3-8 communicating members |
| io    | 2 | 0.1..0.6 | 2 GB | none |
| idle  | 1 | 0.0..0.1 | 1 GB | none |

The *true* demand is what the instance really keeps runnable.  Nova sees
vCPUs only.  libplacement sees what its agents would report: the class from
the flavor, and for an instance that has run for a while (``measure_lag``
events) its measured demand; before that the class estimate (docs/policy.md).

Metrics (docs/evaluation.md): hosts over physical parallelism (true demand >
threads), expected slowdown of parallel work (knee_model: a cpu job runs at
the speed of its slowest worker), net groups kept together (all placed
members on one host), requests accepted, delivered work (sum of true demand x
speed over accepted instances, i.e. CPU-seconds per second of useful work).

Best placement.  No oversubscription (true demand <= threads, memory within
the physical total), then most instances accepted, then most net groups on one
host.  Exact: an integer program (x[i,h] instance i on host h; u[g,h] group
g wholly on h) solved to optimality within a time limit.  Bound for large
instances, valid for any placement that keeps every host within its threads
and memory: accepted <= the LP optimum of max sum(a_i) s.t.
sum(a_i d_i) <= sum(threads), sum(a_i m_i) <= sum(memory), 0 <= a_i <= 1
(all hosts pooled, instances divisible); net groups together <= all of them
(each group fits one host); slowdown >= 1; hosts over = 0; delivered work <=
min(sum of threads, sum of true demand).
"""

import collections
import heapq
import json
import math
import time

import numpy as np

import novamodel

HOST_TYPES = {
    # name: (threads, memory MB, disk MB, share of hosts)
    'pc': (8, 16384, 1024 * 1024),          # the research's i7-4770 hosts
    'medium': (16, 65536, 2048 * 1024),
    'large': (32, 131072, 4096 * 1024),
}
CLUSTER_MIXES = {
    'research': {'pc': 1.0},
    'mixed': {'pc': 0.5, 'medium': 0.3, 'large': 0.2},
}
WORKLOAD_MIX = {'cpu': 0.35, 'net': 0.30, 'io': 0.15, 'idle': 0.20}
DISK_PER_INSTANCE_MB = 20 * 1024
ESTIMATE = {'net': 0.5, 'io': 0.25, 'idle': 0.1}


class Instance:
    __slots__ = ('id', 'klass', 'vcpus', 'memory_mb', 'demand', 'group', 'request',
                 'arrival', 'departure', 'host', 'seen')

    def __init__(self, iid, klass, vcpus, memory_mb, demand, group, request):
        self.id, self.klass, self.vcpus, self.memory_mb = iid, klass, vcpus, memory_mb
        self.demand, self.group, self.request = demand, group, request
        self.arrival = self.departure = 0.0
        self.host = -1
        self.seen = 0.0


class Request:
    """count instances of one flavor, possibly a group."""

    def __init__(self, rid, klass, instances, group):
        self.id, self.klass, self.instances, self.group = rid, klass, instances, group


def make_hosts(n, mix, rng):
    """Arrays threads, memory_mb, disk_mb for n hosts of the mix (in a
    shuffled order, so that cluster order says nothing about size)."""
    names = []
    for name, share in CLUSTER_MIXES[mix].items():
        names += [name] * int(round(share * n))
    names = (names + ['pc'] * n)[:n]
    rng.shuffle(names)
    t = np.array([HOST_TYPES[k][0] for k in names], dtype=float)
    m = np.array([HOST_TYPES[k][1] for k in names], dtype=float)
    d = np.array([HOST_TYPES[k][2] for k in names], dtype=float)
    return t, m, d


def make_request(rid, rng):
    """One request of the workload mix (see the module's table)."""
    klass = rng.choice(list(WORKLOAD_MIX), p=list(WORKLOAD_MIX.values()))
    if klass == 'cpu':
        vcpus = int(rng.choice([2, 4]))
        count = int(rng.integers(4, 17))
        spec = [(vcpus, 2048 * vcpus, float(vcpus)) for _ in range(count)]
        group = 'job-%d' % rid
    elif klass == 'net':
        count = int(rng.integers(3, 9))
        spec = [(2, 2048, float(rng.uniform(0.2, 1.4))) for _ in range(count)]
        group = 'web-%d' % rid
    elif klass == 'io':
        count = int(rng.integers(1, 4))
        spec = [(2, 2048, float(rng.uniform(0.1, 0.6))) for _ in range(count)]
        group = None
    else:
        count = int(rng.integers(1, 4))
        spec = [(1, 1024, float(rng.uniform(0.0, 0.1))) for _ in range(count)]
        group = None
    instances = [Instance('%d-%d' % (rid, i), klass, v, m, d, group, rid)
                 for i, (v, m, d) in enumerate(spec)]
    return Request(rid, klass, instances, group)


def make_batch(threads, load, rng):
    """Requests until their true demand reaches load x the cluster's threads."""
    total, out = 0.0, []
    while total < load * threads.sum():
        r = make_request(len(out), rng)
        out.append(r)
        total += sum(i.demand for i in r.instances)
    return out


def make_trace(threads, load, arrivals, rng, mean_life=1.0):
    """Poisson arrivals of requests with exponential lifetimes, at a rate that
    keeps the offered true demand at load x the cluster's threads in the
    steady state.  Returns the requests (instances carry arrival/departure)."""
    sample = [make_request(-1, rng) for _ in range(400)]
    mean_demand = np.mean([sum(i.demand for i in r.instances) for r in sample])
    rate = load * threads.sum() / (mean_demand * mean_life)
    t, out = 0.0, []
    for rid in range(arrivals):
        t += rng.exponential(1.0 / rate)
        r = make_request(rid, rng)
        life = rng.exponential(mean_life)
        for inst in r.instances:
            inst.arrival, inst.departure = t, t + life
        out.append(r)
    return out


# ---- policies ------------------------------------------------------------------

class HostTruth:
    """What really runs: true demand and the instances per host."""

    def __init__(self, threads):
        self.threads = threads
        self.demand = np.zeros(len(threads))

    def add(self, inst):
        self.demand[inst.host] += inst.demand

    def remove(self, inst):
        self.demand[inst.host] -= inst.demand


class NovaPolicy:
    name = 'nova'

    def __init__(self, hosts, groups=False):
        self.sched = novamodel.NovaScheduler(*hosts, groups=groups)
        if groups:
            self.name = 'nova+groups'

    def place(self, inst):
        policy = None
        if inst.group is not None:
            policy = 'soft-affinity' if inst.klass == 'net' else 'soft-anti-affinity'
        h = self.sched.select(inst.vcpus, inst.memory_mb, DISK_PER_INSTANCE_MB,
                              inst.group, policy)
        if h >= 0:
            self.sched.consume(h, inst.vcpus, inst.memory_mb, DISK_PER_INSTANCE_MB, inst.group)
        return h

    def remove(self, inst):
        self.sched.release(inst.host, inst.vcpus, inst.memory_mb, DISK_PER_INSTANCE_MB,
                           inst.group)

    def measured(self, inst):
        pass


def _request_dict(inst):
    d = {'id': inst.id, 'vcpus': inst.vcpus, 'memory_mb': inst.memory_mb,
         'workload': inst.klass}
    if inst.group is not None:
        d['group'] = inst.group
    return d


class LibplacementPolicy:
    """ctx.filter_score() per instance over every host; the host demand it
    sees is what the agents report: reserved demand per docs/model.md, the
    class estimate until the instance has been measured."""

    name = 'libplacement'

    def __init__(self, hosts, lp, ctx):
        threads, memory_mb, _disk = hosts
        self.lp, self.ctx = lp, ctx
        self.threads = [float(t) for t in threads]
        self.seen = [0.0] * len(threads)
        self.mem_free = [float(m - novamodel.RESERVED_HOST_MEMORY_MB) for m in memory_mb]
        self.tuples = [(t, 0.0, m, lp.RUNTIME_ALL, 0) for t, m in zip(self.threads, self.mem_free)]
        self.members = collections.defaultdict(collections.Counter)

    def _set(self, h):
        self.tuples[h] = (self.threads[h], max(0.0, self.seen[h]), self.mem_free[h],
                          self.lp.RUNTIME_ALL, 0)

    def place(self, inst):
        hosts = self.tuples
        if inst.group is not None and self.members[inst.group]:
            hosts = list(self.tuples)
            for h, k in self.members[inst.group].items():
                if k:
                    hosts[h] = hosts[h][:4] + (k,)
        v = self.ctx.filter_score(_request_dict(inst), hosts)
        h = v.best()
        if h < 0:
            return -1
        inst.seen = v.added
        self.seen[h] += v.added
        self.mem_free[h] -= inst.memory_mb
        self._set(h)
        if inst.group is not None:
            self.members[inst.group][h] += 1
        return h

    def measured(self, inst):
        """The agent has measured the instance: reserve what docs/model.md says."""
        if inst.host < 0:
            return
        reserved = max(inst.vcpus, inst.demand) if inst.klass == 'cpu' else inst.demand
        self.seen[inst.host] += reserved - inst.seen
        inst.seen = reserved
        self._set(inst.host)

    def remove(self, inst):
        h = inst.host
        self.seen[h] -= inst.seen
        self.mem_free[h] += inst.memory_mb
        self._set(h)
        if inst.group is not None:
            self.members[inst.group][h] -= 1


def libplacement_batch(hosts, requests, lp, ctx):
    """One ctx.place() call for a whole batch on empty hosts: host index per
    instance (-1 unplaced), in request order."""
    threads, memory_mb, _disk = hosts
    snapshots = [{'host': 'h%d' % i, 'cpu': {'sockets': 1, 'cores': int(t), 'threads': int(t)},
                  'memory_mb': int(m - novamodel.RESERVED_HOST_MEMORY_MB),
                  'runtimes': ['container', 'unikernel', 'vm'], 'workloads': []}
                 for i, (t, m) in enumerate(zip(threads, memory_mb))]
    cluster = lp.Cluster.from_json(json.dumps({'hosts': snapshots}), origin='simulated cluster')
    reqs = []
    for r in requests:
        i = r.instances[0]
        d = _request_dict(i)
        d['id'] = 'r%d' % r.id
        d['count'] = len(r.instances)
        reqs.append(d)
    plan = ctx.place(cluster, reqs)
    index = {name: k for k, name in enumerate(cluster.names())}
    return [index[p['host']] if p['host'] is not None else -1 for p in plan]


# ---- metrics ---------------------------------------------------------------------

def metrics(instances, threads, model):
    """Metrics of one placement (instances carry .host)."""
    placed = [i for i in instances if i.host >= 0]
    demand = np.zeros(len(threads))
    for i in placed:
        demand[i.host] += i.demand
    speed = {}
    for h in set(i.host for i in placed):
        for k in ('cpu', 'net'):
            speed[(h, k)] = model.speed(k, demand[h], threads[h])
    jobs = collections.defaultdict(list)
    groups = collections.defaultdict(list)
    for i in instances:
        if i.klass == 'cpu':
            jobs[i.request].append(i)
        elif i.klass == 'net':
            groups[i.request].append(i)
    job_slow = [max(1.0 / speed[(i.host, 'cpu')] for i in js)
                for js in jobs.values() if all(i.host >= 0 for i in js)]
    whole = [g for g in groups.values() if all(i.host >= 0 for i in g)]
    together = sum(1 for g in whole if len({i.host for i in g}) == 1)
    pairs = [_pairs_together(g) for g in whole]
    delivered = sum(i.demand * speed[(i.host, 'cpu' if i.klass == 'cpu' else 'net')]
                    for i in placed)
    return {
        'instances': len(instances), 'accepted': len(placed),
        'accepted_frac': len(placed) / max(1, len(instances)),
        'hosts_over': int(np.sum(demand > threads + 1e-9)),
        'hosts_over_frac': float(np.mean(demand > threads + 1e-9)),
        'job_slowdown_mean': float(np.mean(job_slow)) if job_slow else 1.0,
        'job_slowdown_p95': float(np.percentile(job_slow, 95)) if job_slow else 1.0,
        'net_groups': len(groups), 'net_groups_together': together,
        'together_frac': together / max(1, len(groups)),
        'pairs_frac': float(np.mean(pairs)) if pairs else 1.0,
        'delivered': float(delivered),
    }


# ---- the best placement ----------------------------------------------------------

def _pairs_together(group):
    """Fraction of a group's member pairs on the same host (the share of
    all-to-all traffic that stays inside a host)."""
    n = len(group)
    if n < 2:
        return 1.0
    per_host = collections.Counter(i.host for i in group)
    return sum(k * (k - 1) for k in per_host.values()) / (n * (n - 1))


def best_bound(instances, hosts):
    """Upper bounds valid for every placement within threads and memory."""
    from scipy.optimize import linprog
    threads, memory_mb, _disk = hosts
    d = np.array([i.demand for i in instances])
    m = np.array([i.memory_mb for i in instances], dtype=float)
    res = linprog(-np.ones(len(instances)), A_ub=np.vstack([d, m]),
                  b_ub=[threads.sum(), (memory_mb - novamodel.RESERVED_HOST_MEMORY_MB).sum()],
                  bounds=(0, 1), method='highs')
    groups = {i.request for i in instances if i.klass == 'net'}
    return {'accepted': float(-res.fun), 'accepted_frac': float(-res.fun) / len(instances),
            'hosts_over': 0, 'hosts_over_frac': 0.0, 'job_slowdown_mean': 1.0,
            'job_slowdown_p95': 1.0, 'net_groups': len(groups),
            'together_frac': 1.0, 'net_groups_together': len(groups), 'pairs_frac': 1.0,
            'delivered': float(min(threads.sum(), d.sum())), 'exact': False}


def best_exact(instances, hosts, time_limit=60.0):
    """The best placement by integer programming (see the module docstring).
    Returns (host per instance, info); info['optimal'] says whether HiGHS
    proved optimality within the time limit (else: its best solution and the
    gap)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix
    threads, memory_mb, _disk = hosts
    n, hn = len(instances), len(threads)
    groups = sorted({i.request for i in instances if i.klass == 'net'})
    gindex = {g: k for k, g in enumerate(groups)}
    nx, nu = n * hn, len(groups) * hn
    a = lil_matrix((hn * 2 + n + len(groups) + sum(1 for i in instances if i.klass == 'net') * hn,
                    nx + nu))
    lo, hi = [], []
    r = 0
    for h in range(hn):                      # threads and memory per host
        for k, inst in enumerate(instances):
            a[r, k * hn + h] = inst.demand
            a[r + 1, k * hn + h] = inst.memory_mb
        lo += [-np.inf, -np.inf]
        hi += [threads[h], memory_mb[h] - novamodel.RESERVED_HOST_MEMORY_MB]
        r += 2
    for k in range(n):                       # each instance on at most one host
        for h in range(hn):
            a[r, k * hn + h] = 1
        lo.append(-np.inf)
        hi.append(1)
        r += 1
    for g in groups:                         # a group wholly on at most one host
        for h in range(hn):
            a[r, nx + gindex[g] * hn + h] = 1
        lo.append(-np.inf)
        hi.append(1)
        r += 1
    for k, inst in enumerate(instances):     # u[g,h] <= x[i,h] for members i
        if inst.klass != 'net':
            continue
        for h in range(hn):
            a[r, nx + gindex[inst.request] * hn + h] = 1
            a[r, k * hn + h] = -1
            lo.append(-np.inf)
            hi.append(0)
            r += 1
    weight = len(groups) + 1.0               # one more instance beats every group
    c = np.concatenate([-weight * np.ones(nx), -np.ones(nu)])
    t0 = time.monotonic()
    res = milp(c, constraints=LinearConstraint(a.tocsr(), lo, hi),
               integrality=np.ones(nx + nu), bounds=Bounds(0, 1),
               options={'time_limit': time_limit, 'disp': False})
    info = {'optimal': res.status == 0, 'seconds': time.monotonic() - t0,
            'gap': getattr(res, 'mip_gap', None), 'message': res.message}
    if res.x is None:
        return None, info
    x = res.x[:nx].reshape(n, hn)
    placement = [int(np.argmax(x[k])) if x[k].max() > 0.5 else -1 for k in range(n)]
    return placement, info


# ---- runs --------------------------------------------------------------------------

def run_batch(n_hosts, mix, load, seed, lp, model, exact=False, time_limit=60.0):
    """All policies on one batch; a dict per policy with its metrics."""
    rng = np.random.default_rng(seed)
    hosts = make_hosts(n_hosts, mix, rng)
    requests = make_batch(hosts[0], load, rng)
    instances = [i for r in requests for i in r.instances]
    out = {}
    for policy in (NovaPolicy(hosts), NovaPolicy(hosts, groups=True)):
        t0 = time.monotonic()
        for i in instances:
            i.host = policy.place(i)
        out[policy.name] = dict(metrics(instances, hosts[0], model),
                                seconds=time.monotonic() - t0)
    t0 = time.monotonic()
    for i, h in zip(instances, libplacement_batch(hosts, requests, lp, lp.Context())):
        i.host = h
    out['libplacement'] = dict(metrics(instances, hosts[0], model),
                               seconds=time.monotonic() - t0)
    bound = best_bound(instances, hosts)
    if exact:
        placement, info = best_exact(instances, hosts, time_limit)
        if placement is not None:
            for i, h in zip(instances, placement):
                i.host = h
            out['best'] = dict(metrics(instances, hosts[0], model), exact=info['optimal'],
                               seconds=info['seconds'], gap=info['gap'])
    out.setdefault('best', bound)
    out['bound'] = bound
    for v in out.values():
        v.update(hosts=n_hosts, mix=mix, load=load, seed=seed,
                 threads=float(hosts[0].sum()))
    return out


def run_trace(n_hosts, mix, load, arrivals, seed, lp, model, measure_lag=20,
              samples=200):
    """Arrivals and departures: every policy on the same trace.  Metrics are
    averaged over `samples` moments (after arrivals) in the second half of the
    trace (the first half warms the cluster up); accepted is over the whole
    trace."""
    rng = np.random.default_rng(seed)
    hosts = make_hosts(n_hosts, mix, rng)
    requests = make_trace(hosts[0], load, arrivals, rng)
    out = {}
    sample_at = set(np.linspace(arrivals // 2, arrivals - 1, samples).astype(int).tolist())
    for make in (lambda: NovaPolicy(hosts), lambda: NovaPolicy(hosts, groups=True),
                 lambda: LibplacementPolicy(hosts, lp, lp.Context())):
        policy = make()
        truth = HostTruth(hosts[0])
        departures = []               # heap of (time, seq, instance)
        lag = collections.deque()
        seq = 0
        snaps = []
        accepted = total = 0
        together = groups = 0
        pairs = []
        t0 = time.monotonic()
        for k, r in enumerate(requests):
            now = r.instances[0].arrival
            while departures and departures[0][0] <= now:
                _t, _s, inst = heapq.heappop(departures)
                policy.remove(inst)
                truth.remove(inst)
                inst.host = -1
            for inst in r.instances:
                inst.host = policy.place(inst)
                total += 1
                if inst.host >= 0:
                    accepted += 1
                    truth.add(inst)
                    heapq.heappush(departures, (inst.departure, seq, inst))
                    seq += 1
                    lag.append((k + measure_lag, inst))
            if r.klass == 'net' and all(i.host >= 0 for i in r.instances):
                groups += 1
                together += len({i.host for i in r.instances}) == 1
                pairs.append(_pairs_together(r.instances))
            while lag and lag[0][0] <= k:
                _k, inst = lag.popleft()
                if inst.host >= 0:
                    policy.measured(inst)
            if k in sample_at:
                snaps.append(_sample(truth, model, departures))
        out[policy.name] = {
            'accepted_frac': accepted / max(1, total), 'accepted': accepted,
            'instances': total,
            'hosts_over_frac': float(np.mean([s[0] for s in snaps])),
            'job_slowdown_mean': float(np.mean([s[1] for s in snaps])),
            'delivered': float(np.mean([s[2] for s in snaps])),
            'together_frac': together / max(1, groups), 'net_groups': groups,
            'pairs_frac': float(np.mean(pairs)) if pairs else 1.0,
            'seconds': time.monotonic() - t0,
            'hosts': n_hosts, 'mix': mix, 'load': load, 'seed': seed,
            'threads': float(hosts[0].sum()), 'arrivals': arrivals,
        }
    return out


def _sample(truth, model, departures):
    """(fraction of hosts over their threads, mean slowdown of the running
    cpu instances, delivered work) at one moment."""
    threads, demand = truth.threads, truth.demand
    over = float(np.mean(demand > threads + 1e-9))
    slow, delivered = [], 0.0
    for _t, _s, inst in departures:
        k = 'cpu' if inst.klass == 'cpu' else 'net'
        s = model.speed(k, demand[inst.host], threads[inst.host])
        delivered += inst.demand * s
        if inst.klass == 'cpu':
            slow.append(1.0 / s)
    return over, float(np.mean(slow)) if slow else 1.0, delivered


def ratio(a, b):
    return a / b if b else (1.0 if a == b else math.inf)
