"""Cost per host of the Nova plugin, through Nova's own handlers.

Runs HostFilterHandler.get_filtered_objects and
HostWeightHandler.get_weighed_objects over 1,000 and 10,000 HostStates with:
  - nova_filter's ParallelismFilter and ParallelismWeigher,
  - a pure-Python implementation of the same rules (below, for comparison),
  - Nova's NUMATopologyFilter, AggregateInstanceExtraSpecsFilter, RAMWeigher.

Each host has 8 threads and 4 to 7 instances (2-vCPU cpu/net/io flavors). A
round emulates one scheduling request: Nova builds new HostState objects for
every request, so the per-request values kept on each HostState are dropped
before every round (the plugin's per-host caches, keyed on what changes, stay
warm as they do in a running scheduler). The instance catalog is warmed once,
as a running scheduler's is after its first request per instance.

Prints `bench nova_<name> hosts=N us_per_host=X` lines and the ratios;
`_cold` is a request after every host's inputs changed (each host described
anew; hosts described alike are asked of the core once, and the bench's
hosts are of few kinds), the others the steady state.
Run: make bench-nova (PYTHONPATH holds the built module).
"""

import gc
import sys
import time
import uuid

from nova import objects

objects.register_all()

import nova.conf  # noqa: E402
from nova.scheduler import filters  # noqa: E402
from nova.scheduler.filters import aggregate_instance_extra_specs  # noqa
from nova.scheduler.filters import numa_topology_filter  # noqa: E402
from nova.scheduler import host_manager  # noqa: E402
from nova.scheduler import weights  # noqa: E402
from nova.scheduler.weights import ram  # noqa: E402

from nova_filter import engine as engine_mod  # noqa: E402
from nova_filter import filters as lp_filters  # noqa: E402
from nova_filter import hoststate  # noqa: E402
from nova_filter import weighers as lp_weighers  # noqa: E402

CONF = nova.conf.CONF
SIZES = (1000, 10000)
THREADS = 8

FLAVORS = {
    'cpu': ('cpu2', 2, {'libplacement:workload': 'cpu'}),
    'net': ('web2', 2, {'libplacement:workload': 'net'}),
    'io': ('db2', 2, {'libplacement:workload': 'io'}),
}


def make_flavor(kind):
    name, vcpus, specs = FLAVORS[kind]
    return objects.Flavor(name=name, flavorid=name, vcpus=vcpus,
                          memory_mb=2048, root_gb=10, ephemeral_gb=0,
                          swap=0, extra_specs=dict(specs))


class PurePythonRules(object):
    """The plugin's rules written directly in Python, per host.

    Same numbers as the libplacement core's defaults: cpu/mixed/unknown
    instances reserve their parallelism, net 0.5, io 0.25, idle 0.1 of
    their vCPUs; pass while demand + added <= threads x ratio; score =
    headroom + colocate (net/io group member on host) - 0.5 x spread.
    """

    ESTIMATE = {'net': 0.5, 'io': 0.25, 'idle': 0.1}

    def __init__(self, ratio=1.0):
        self.ratio = ratio
        self.groups = {}

    def reserve(self, flavor):
        specs = flavor.extra_specs
        klass = specs.get('libplacement:workload', 'auto')
        par = float(specs.get('libplacement:parallelism', 0) or flavor.vcpus)
        if klass in self.ESTIMATE:
            return klass, self.ESTIMATE[klass] * flavor.vcpus
        return klass, par

    def demand(self, host_state):
        total = 0.0
        for inst in host_state.instances.values():
            total += self.reserve(inst.flavor)[1]
        return total

    def score(self, host_state, spec_obj):
        klass, added = self.reserve(spec_obj.flavor)
        cap = float(host_state.vcpus_total) * self.ratio
        after = self.demand(host_state) + added
        if after > cap:
            return None
        group = spec_obj.get_scheduler_hint('libplacement_group')
        members = 0
        if group:
            for inst in host_state.instances.values():
                if self.groups.get(inst.uuid) == group:
                    members += 1
        score = (cap - after) / cap
        if klass in ('net', 'io') and members:
            score += 1.0
        elif klass in ('cpu', 'mixed') and members:
            score -= 0.5 * members * added / cap
        return score


PY_RULES = PurePythonRules()


class PyParallelismFilter(filters.BaseHostFilter):
    """Pure-Python ParallelismFilter (benchmark reference)."""

    def host_passes(self, host_state, spec_obj):
        return PY_RULES.score(host_state, spec_obj) is not None


class PyParallelismWeigher(weights.BaseHostWeigher):
    """Pure-Python ParallelismWeigher (benchmark reference)."""

    def _weigh_object(self, host_state, spec_obj):
        score = PY_RULES.score(host_state, spec_obj)
        return 0.0 if score is None else score


def make_hosts(n, catalog):
    """n HostStates of 8 threads with 4..7 instances each."""
    kinds = ('cpu', 'net', 'io', 'net', 'cpu', 'io', 'net')
    flavors = {k: make_flavor(k) for k in FLAVORS}
    hosts = []
    for i in range(n):
        hs = host_manager.HostState('host%05d' % i, 'node%05d' % i, None)
        hs.vcpus_total = THREADS
        hs.total_usable_ram_mb = 16384
        hs.ram_allocation_ratio = 1.0
        hs.cpu_allocation_ratio = 4.0
        hs.hypervisor_type = 'QEMU'
        hs.numa_topology = None
        hs.limits = {}
        instances = {}
        for j in range(4 + i % 4):
            kind = kinds[(i + j) % len(kinds)]
            u = str(uuid.uuid4())
            inst = objects.Instance(uuid=u, flavor=flavors[kind])
            instances[u] = inst
            group = 'web' if kind == 'net' and i % 10 == 0 else None
            catalog.remember(u, flavors[kind], (group,) if group else ())
            if group:
                PY_RULES.groups[u] = group
        hs.instances = instances
        hs.num_instances = len(instances)
        hs.vcpus_used = 2 * len(instances)
        hs.free_ram_mb = 16384 - 2048 * len(instances)
        hosts.append(hs)
    return hosts


def make_spec(kind, group=None):
    hints = {'libplacement_group': [group]} if group else {}
    return objects.RequestSpec(
        flavor=make_flavor(kind), instance_uuid=str(uuid.uuid4()),
        scheduler_hints=hints, num_instances=1, numa_topology=None,
        pci_requests=None, image=objects.ImageMeta(
            properties=objects.ImageMetaProps()),
        ignore_hosts=None, force_hosts=None, force_nodes=None)


def new_request(hosts):
    """Drop what a request keeps on its HostStates (Nova makes new ones)."""
    for hs in hosts:
        hs.__dict__.pop(hoststate.MEMO_ATTR, None)


def timed(fn, hosts, rounds, prepare=None):
    """Best of `rounds` (as timeit: no garbage collection while timed).

    Every round is a new request; prepare() runs first, untimed.
    """
    best = float('inf')
    for _ in range(rounds):
        new_request(hosts)
        if prepare is not None:
            prepare()
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        finally:
            gc.enable()
    return best * 1e6 / len(hosts)


def main():
    CONF([], project='nova')
    fh = filters.HostFilterHandler()
    wh = weights.HostWeightHandler()
    ours_f = [lp_filters.ParallelismFilter()]
    ours_w = [lp_weighers.ParallelismWeigher()]
    py_f = [PyParallelismFilter()]
    py_w = [PyParallelismWeigher()]
    nova_f = {
        'numa_topology_filter': [numa_topology_filter.NUMATopologyFilter()],
        'aggregate_extra_specs_filter': [
            aggregate_instance_extra_specs.AggregateInstanceExtraSpecsFilter()
        ],
    }
    ram_w = [ram.RAMWeigher()]
    spec = make_spec('cpu')
    gspec = make_spec('net', group='web')
    eng = engine_mod.engine()
    results = {}
    for n in SIZES:
        hosts = make_hosts(n, eng.catalog)
        rounds = 5 if n <= 1000 else 3
        # Warm: per-host caches and the request path, as after the first
        # request in a running scheduler.
        fh.get_filtered_objects(ours_f, hosts, spec)
        passed = fh.get_filtered_objects(ours_f, hosts, spec)
        py_passed = fh.get_filtered_objects(py_f, hosts, spec)
        if [h.host for h in passed] != [h.host for h in py_passed]:
            sys.exit('bench_nova: ParallelismFilter and the pure-Python '
                     'rules disagree; the comparison would be meaningless')
        r = {}
        # Own cost: the plugin's calls alone, as the handler makes them
        # (filter_all; weigh_objects and weight_multiplier per host).
        weighed = [weights.WeighedHost(h, 0.0) for h in hosts]
        for kind, f, w in (('', ours_f[0], ours_w[0]),
                           ('py_', py_f[0], py_w[0])):
            r[kind + 'parallelism_filter_own'] = timed(
                lambda: list(f.filter_all(hosts, spec)), hosts, rounds)
            r[kind + 'parallelism_weigher_own'] = timed(
                lambda: (w.weigh_objects(weighed, gspec),
                         [w.weight_multiplier(h) for h in hosts]),
                hosts, rounds, prepare=lambda: list(f.filter_all(hosts, spec)))
        r['parallelism_filter'] = timed(
            lambda: fh.get_filtered_objects(ours_f, hosts, spec), hosts,
            rounds)
        # Every host derived anew (as after a compute report or a new
        # agent snapshot of every host).
        r['parallelism_filter_cold'] = timed(
            lambda: fh.get_filtered_objects(ours_f, hosts, spec), hosts,
            rounds, prepare=eng.loads._values.clear)
        r['py_parallelism_filter'] = timed(
            lambda: fh.get_filtered_objects(py_f, hosts, spec), hosts, rounds)
        r['parallelism_weigher'] = timed(
            lambda: wh.get_weighed_objects(ours_w, hosts, gspec), hosts,
            rounds, prepare=lambda: fh.get_filtered_objects(ours_f, hosts,
                                                            spec))
        r['py_parallelism_weigher'] = timed(
            lambda: wh.get_weighed_objects(py_w, hosts, gspec), hosts, rounds,
            prepare=lambda: fh.get_filtered_objects(py_f, hosts, spec))
        for name, fl in nova_f.items():
            r[name] = timed(lambda: fh.get_filtered_objects(fl, hosts, spec),
                            hosts, 1 if name.startswith('numa') else rounds)
        r['ram_weigher'] = timed(
            lambda: wh.get_weighed_objects(ram_w, hosts, gspec), hosts,
            rounds)
        # Within one request (multi-create, filter then weigher): the
        # values kept on the HostStates are reused.
        fh.get_filtered_objects(ours_f, hosts, spec)
        gc.disable()
        t0 = time.perf_counter()
        fh.get_filtered_objects(ours_f, hosts, spec)
        r['parallelism_filter_same_request'] = (
            (time.perf_counter() - t0) * 1e6 / n)
        gc.enable()
        for name, us in r.items():
            print('bench nova_%s hosts=%d us_per_host=%.3f' % (name, n, us))
        results[n] = r
    ok = True
    for n, r in results.items():
        for ours in ('parallelism_filter', 'parallelism_weigher'):
            print('bench nova_%s hosts=%d speedup_vs_pure_python=%.1fx '
                  'through the handler, %.1fx own cost'
                  % (ours, n, r['py_' + ours] / r[ours],
                     r['py_%s_own' % ours] / r[ours + '_own']))
            if n == SIZES[-1]:
                ok = (ok and r[ours + '_own'] <= 1.5
                      and r['py_%s_own' % ours] / r[ours + '_own'] >= 5.0)
        print('bench nova hosts=%d numa_topology_filter/parallelism_filter'
              '=%.1fx aggregate_extra_specs_filter/parallelism_filter=%.1fx '
              'ram_weigher/parallelism_weigher=%.2fx (through the handler)'
              % (n, r['numa_topology_filter'] / r['parallelism_filter'],
                 r['aggregate_extra_specs_filter'] / r['parallelism_filter'],
                 r['ram_weigher'] / r['parallelism_weigher']))
    print('bench nova targets (own cost <= 1.5 us/host at %d hosts, >= 5x '
          'pure Python): %s' % (SIZES[-1], 'met' if ok else 'NOT met'))


if __name__ == '__main__':
    main()
