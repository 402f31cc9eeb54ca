"""Tests of the evaluation's models and harness (make check-eval).

- the stock-Nova model picks the host Nova 26's own weighers pick;
- the knee model's fit, knee detection and the filter's cap;
- the exact best placement equals brute force on tiny instances, and the
  large-instance bound is never below it;
- a smoke run of eval/run.py (real processes in cgroups, the agent, the
  simulation, report files), asserting behaviour, never speed.
"""

import csv
import glob
import itertools
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EVAL = os.path.dirname(HERE)
ROOT = os.path.dirname(EVAL)
sys.path.insert(0, EVAL)

import knee_model  # noqa: E402
import novamodel  # noqa: E402
import simulate  # noqa: E402

lp = pytest.importorskip('libplacement')


# ---- stock Nova model against Nova's own weighers ------------------------------------

def _nova_pick(threads, mem_total, mem_used, vcpus_used, disk_total, disk_used):
    from nova import objects
    objects.register_all()
    from nova.scheduler import host_manager, weights
    hosts = []
    for i in range(len(threads)):
        hs = host_manager.HostState('h%d' % i, 'n%d' % i, None)
        hs.vcpus_total = threads[i]
        hs.vcpus_used = vcpus_used[i]
        hs.cpu_allocation_ratio = novamodel.CPU_ALLOCATION_RATIO
        hs.free_ram_mb = mem_total[i] - mem_used[i]
        hs.free_disk_mb = disk_total[i] - disk_used[i]
        hs.num_io_ops = 0
        hs.failed_builds = 0
        hs.limits = {}
        hosts.append(hs)
    spec = objects.RequestSpec(
        flavor=objects.Flavor(vcpus=2, memory_mb=2048, root_gb=20, ephemeral_gb=0, swap=0,
                              extra_specs={}),
        instance_uuid=str(uuid.uuid4()), scheduler_hints={}, num_instances=1,
        numa_topology=None, pci_requests=None, instance_group=None,
        image=objects.ImageMeta(properties=objects.ImageMetaProps()))
    handler = weights.HostWeightHandler()
    weighers = handler.get_matching_classes(['nova.scheduler.weights.all_weighers'])
    ranked = handler.get_weighed_objects([w() for w in weighers], hosts, spec)
    return int(ranked[0].obj.host[1:])


@pytest.mark.parametrize('seed', range(25))
def test_nova_model_picks_the_host_nova_weighers_pick(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    threads = rng.choice([8, 16, 32], n)
    mem_total = threads * 2048.0 * rng.choice([1, 2, 4], n)
    disk_total = 1024.0 * rng.choice([200, 500, 1000], n)
    sched = novamodel.NovaScheduler(threads, mem_total, disk_total)
    # Flavors of unrelated sizes, so that each weigher can change the pick.
    for h in range(n):
        for _ in range(int(rng.integers(0, 12))):
            sched.consume(h, int(rng.choice([1, 2, 4, 8])), float(rng.choice([512, 2048, 4096])),
                          1024.0 * rng.choice([1, 10, 40]))
    want = _nova_pick([int(t) for t in threads], mem_total, sched.memory_used,
                      sched.vcpus_used, disk_total, sched.disk_used)
    assert sched.select(2, 2048, 20 * 1024) == want


def test_nova_model_filters_on_placement_allocation_ratios():
    sched = novamodel.NovaScheduler([8], [16384], [10 ** 7])
    for _ in range(64):                       # 8 threads x 16 = 128 vCPUs
        sched.consume(0, 2, 1, 0)
    assert sched.select(2, 1, 0) == -1
    sched = novamodel.NovaScheduler([8], [16384], [10 ** 7])
    # (16384 - 512) x 1.5 = 23808 MB of instances
    sched.consume(0, 1, 23808 - 2048, 0)
    assert sched.select(1, 2048, 0) == 0
    assert sched.select(1, 2049, 0) == -1


# ---- knee model ---------------------------------------------------------------

def test_fit_recovers_k_and_speed_matches_it():
    k = 0.08
    pts = [(x, (1 - k * (x - 1)) / x) for x in (1.5, 2.0, 3.0)] + [(0.5, 1.0)]
    assert knee_model.fit_k(pts) == pytest.approx(k)
    m = knee_model.KneeModel(k_cpu=k)
    assert m.speed('cpu', 8, 8) == 1.0
    assert m.speed('cpu', 16, 8) == pytest.approx((1 - k) / 2)
    assert m.slowdown('net', 16, 8) == pytest.approx(2.0)   # k_net stays 0


def _rows(throughputs, demands, threads=2, server_threads=1):
    return [{'servers': n, 'throughput': t, 'demand': d, 'threads': threads,
             'server_threads': server_threads}
            for n, (t, d) in enumerate(zip(throughputs, demands), start=1)]


def test_knee_demand_and_cap_on_a_cpu_slice():
    rows = _rows([1.0, 1.98, 2.0, 1.97, 1.95], [1.0, 2.0, 3.0, 4.0, 5.0])
    assert knee_model.knee(rows) == 2
    assert knee_model.demand_reaches(rows) == 2
    assert knee_model.cap_servers(rows, 'cpu', lp) == 2


def test_cap_for_net_work_uses_measured_demand():
    # 2-thread web servers measured at 0.24 runnable threads each on 1 thread.
    rows = _rows([100, 200, 300, 390, 400, 398], [0.24, 0.5, 0.74, 0.97, 1.3, 1.6],
                 threads=1, server_threads=2)
    assert knee_model.knee(rows) == 4
    assert knee_model.demand_reaches(rows) == 4
    assert knee_model.cap_servers(rows, 'net', lp) == 4
    assert knee_model.cap_servers(rows, 'cpu', lp) == 0     # by vCPUs: none fit


def test_no_knee_while_throughput_rises():
    assert knee_model.knee(_rows([1, 2, 3], [1, 2, 3], threads=4)) is None


# ---- best placement -----------------------------------------------------------------

def _brute_force(instances, hosts):
    threads, memory, _d = hosts
    ngroups = len({i.request for i in instances if i.klass == 'net'})
    best = None
    for assign in itertools.product(range(-1, len(threads)), repeat=len(instances)):
        dem = np.zeros(len(threads))
        mem = np.zeros(len(threads))
        for i, h in zip(instances, assign):
            if h >= 0:
                dem[h] += i.demand
                mem[h] += i.memory_mb
        if (dem > threads + 1e-9).any() or (mem > memory - 512).any():
            continue
        groups = {}
        for i, h in zip(instances, assign):
            if i.klass == 'net':
                groups.setdefault(i.request, []).append(h)
        together = sum(1 for hs in groups.values() if hs[0] >= 0 and len(set(hs)) == 1)
        value = (ngroups + 1) * sum(1 for h in assign if h >= 0) + together
        best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize('seed', range(4))
def test_exact_best_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    hosts = (np.array([4.0, 4.0]), np.array([8704.0, 6656.0]), np.array([1e7, 1e7]))
    instances = []
    for r in range(3):
        req = simulate.make_request(r, rng)
        instances += req.instances[:2]
    for i in instances:
        if i.klass == 'cpu':
            i.vcpus, i.demand, i.memory_mb = 2, 2.0, 2048
    placement, info = simulate.best_exact(instances, hosts, time_limit=30)
    assert info['optimal']
    for i, h in zip(instances, placement):
        i.host = h
    ngroups = len({i.request for i in instances if i.klass == 'net'})
    m = simulate.metrics(instances, hosts[0], knee_model.KneeModel())
    got = (ngroups + 1) * m['accepted'] + m['net_groups_together']
    assert got == _brute_force(instances, hosts)
    assert m['hosts_over'] == 0
    assert simulate.best_bound(instances, hosts)['accepted'] >= m['accepted'] - 1e-6


def test_batch_runs_every_policy_on_the_same_requests():
    res = simulate.run_batch(30, 'mixed', 1.0, 7, lp, knee_model.KneeModel())
    n = {v['instances'] for k, v in res.items() if k not in ('best', 'bound')}
    assert len(n) == 1
    assert res['libplacement']['hosts_over'] <= res['nova']['hosts_over']
    assert res['best']['accepted_frac'] >= res['libplacement']['accepted_frac']


# ---- smoke run on real processes -------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to create cgroups')
def test_smoke_run_writes_a_report_from_real_measurements(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(ROOT, 'build', 'python'), ROOT]))
    r = subprocess.run([sys.executable, os.path.join(EVAL, 'run.py'), '--mode', 'smoke',
                        '--out', str(tmp_path), '--parts', 'knee,sim,loop',
                        '--agent', os.path.join(ROOT, 'build', 'libplacement-agent'),
                        '--pi', os.path.join(ROOT, 'build', 'eval', 'pi')],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ('report.md', 'knees.png', 'knee_points.csv', 'sim_batch.csv',
                 'sim_trace.png', 'knee_fit.json', 'closed_loop.csv', 'closed_loop.png'):
        assert (tmp_path / name).exists(), name
    with open(tmp_path / 'knee_points.csv') as f:
        points = list(csv.DictReader(f))
    pi = [p for p in points if p['experiment'].startswith('pi')]
    assert pi and all(p['classes'] == 'cpu' for p in pi)
    for p in pi:
        # Busy threads are runnable whatever else runs: demand ~ their number.
        want = int(p['servers']) * int(p['server_threads'])
        assert abs(float(p['demand']) - want) <= 0.25 * want, p
    web = [p for p in points if p['experiment'] == 'web']
    assert web and all(int(p['errors']) == 0 or float(p['throughput']) > 0 for p in web)
    assert 'Knees on real work' in (tmp_path / 'report.md').read_text()
    with open(tmp_path / 'closed_loop.csv') as f:
        loop = list(csv.DictReader(f))
    # Both placements were realised and every placed group delivered work.
    assert {r['policy'] for r in loop} == {'nova', 'libplacement'}
    assert all(float(r['throughput']) > 0 for r in loop if int(r['placed']) > 0)


def test_sigterm_removes_servers_and_cgroups():
    """make interrupted, or a CI timeout, sends SIGTERM: the run stops and
    leaves no server process and no cgroup behind."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(ROOT, 'build', 'python'), ROOT]))
    p = subprocess.Popen([sys.executable, os.path.join(EVAL, 'run.py'), '--mode', 'smoke',
                          '--out', os.path.join(ROOT, 'build', 'eval-sigterm'),
                          '--parts', 'knee',
                          '--agent', os.path.join(ROOT, 'build', 'libplacement-agent'),
                          '--pi', os.path.join(ROOT, 'build', 'eval', 'pi')],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []
    try:
        for line in p.stdout:   # until the first point: servers ran in their cgroups
            seen.append(line)
            if ' pi ' in line or line.startswith('  pi '):
                break
        p.send_signal(15)
        rest = p.communicate(timeout=300)[0]
    finally:
        p.kill()
        p.wait()
    assert p.returncode == 128 + 15, ''.join(seen) + rest
    left = glob.glob('/sys/fs/cgroup/*/lp-eval-eval-%d' % p.pid) + \
        glob.glob('/sys/fs/cgroup/lp-eval-eval-%d' % p.pid)
    assert not left, left


def test_pi_point_is_run_again_when_the_agent_missed_its_servers(tmp_path):
    """On a slow machine the agent may start measuring after the servers
    ended; the point is run again, not lost.  The agent here misses them
    once (a wrapper answers the first time with no workloads), then the real
    agent measures."""
    import knee
    real = os.path.join(ROOT, 'build', 'libplacement-agent')
    agent = tmp_path / 'agent'
    agent.write_text('#!/bin/sh\n'
                     'if [ ! -e "%s" ]; then : > "%s"; echo \'{"workloads": []}\'; exit 0; fi\n'
                     'exec %s "$@"\n' % (tmp_path / 'missed', tmp_path / 'missed', real))
    agent.chmod(0o755)
    said = []
    bench = knee.Bench('retry-%d' % os.getpid(), str(tmp_path / 'work'), str(agent),
                       os.path.join(ROOT, 'build', 'eval', 'pi'), said.append)
    try:
        # Work for about 2 s on one thread: the real agent's window falls inside.
        point = bench.run_pi_point(1, 1, 800000000, '0', 0.3, 0)
    finally:
        bench.close()
    assert (tmp_path / 'missed').exists()
    assert len(said) == 1 and 'lacks servers' in said[0] and 'run again' in said[0], said
    assert point['servers'] == 1 and point['classes'] == ['cpu'], point
